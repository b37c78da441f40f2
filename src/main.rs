fn main() {
    println!("gateform");
}
