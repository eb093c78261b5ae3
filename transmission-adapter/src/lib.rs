//! Driving Transmission through its RPC (the adapter lands with the client trait).
