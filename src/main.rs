//! The `kura` binary: parses the command line and dispatches to
//! [`kura::commands`]. Errors are printed once, without backtraces, and mapped
//! to the documented exit statuses.

use clap::Parser;
use kura::archive::ExitError;
use kura::cli::{Cli, Command};
use kura::commands;

fn main() {
    kura::archive::restrict_umask();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Import(a) => commands::import::run(&cli.global, a),
        Command::Search(a) => commands::search::run(&cli.global, a),
        Command::Count(a) => commands::search::count(&cli.global, a),
        Command::Show(a) => commands::show::run(&cli.global, a),
        Command::Thread(a) => commands::thread::run(&cli.global, a),
        Command::Rejects(a) => commands::rejects::run(&cli.global, a),
        Command::Completions(a) => commands::completions::run(a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let code = e.downcast_ref::<ExitError>().map_or(2, |x| x.code);
            eprintln!("kura: {}", kura::output::sanitize(&format!("{e:#}")));
            std::process::exit(code);
        }
    }
}
