"""Small request checks shared by client registration, /par, /authorize and /token."""
