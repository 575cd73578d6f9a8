fn main() -> std::process::ExitCode {
    duo_orm_cli::run(std::env::args_os())
}
