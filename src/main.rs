use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = sesame::cli::Cli::parse();
    match sesame::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sesame: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
