//! The Leadgate binary's library: the CLI and the HTTP server, wiring the domain and the store.

pub mod cli;
pub mod export;
pub mod http;
pub mod import;
pub mod jobs;
pub mod server;
pub mod spend;
pub mod web;
