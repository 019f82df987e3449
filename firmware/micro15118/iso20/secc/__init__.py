"""The ISO 15118-20 SECC (charger side): `session.Secc` is the machine;
each other module handles one request (one state) and says what may come
next; `failed` builds the FAILED answer of every response type; `context`
holds what a session remembers and the store of paused sessions."""
