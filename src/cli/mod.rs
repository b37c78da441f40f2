//! Command-line front end: arguments → settings → commands. The only module that prints,
//! reads the environment or chooses exit codes.
