//! Driving qBittorrent through its WebUI API v2 (the adapter lands with the client trait).
