use std::process::ExitCode;

fn main() -> ExitCode {
    blindfold::commands::main()
}
