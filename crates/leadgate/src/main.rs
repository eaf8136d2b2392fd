fn main() -> anyhow::Result<()> {
    // Before any thread exists: the settings file fills environment variables.
    leadgate::cli::settings::load()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(leadgate::cli::run())
}
