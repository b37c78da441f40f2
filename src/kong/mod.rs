//! Kong Admin API client: reading live state (paginated, concurrent) and sending writes.
