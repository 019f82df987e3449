"""Software nobody here wrote, as peers: python-iso15118 (`josev`,
`josev_evcc`), a SLAC agent for kernel-stack peers (`slacagent`), and the
TAP / veth / network-namespace plumbing that puts them on the wire (`tap`)."""
