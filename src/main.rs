//! The `kura` binary: parses the command line and dispatches to
//! [`kura::commands`]. Errors are printed once, without backtraces, and mapped
//! to the documented exit statuses.

#![forbid(unsafe_code)]

use clap::Parser;
use kura::archive::ExitError;
use kura::cli::{Cli, Command};
use kura::commands;

fn main() {
    kura::archive::restrict_umask();
    let cli = Cli::parse_from(kura::cli::negated_terms_in_full_width(
        std::env::args_os().collect(),
    ));
    let result = match &cli.command {
        Command::Import(a) => commands::import::run(&cli.global, a),
        Command::Search(a) => commands::search::run(&cli.global, a),
        Command::Count(a) => commands::search::count(&cli.global, a),
        Command::Show(a) => commands::show::run(&cli.global, a),
        Command::Thread(a) => commands::thread::run(&cli.global, a),
        Command::Tag(a) => commands::tag::run(&cli.global, a),
        Command::Tags(a) => commands::tag::list(&cli.global, a),
        Command::Rejects(a) => commands::rejects::run(&cli.global, a),
        Command::Stats(a) => commands::stats::run(&cli.global, a),
        Command::Check(a) => commands::check::run(&cli.global, a),
        Command::Reindex(a) => commands::reindex::run(&cli.global, a),
        Command::Gc(a) => commands::gc::run(&cli.global, a),
        Command::Erase(a) => commands::erase::run(&cli.global, a),
        Command::Log(a) => commands::log::run(&cli.global, a),
        Command::Customers(a) => commands::customers::run(&cli.global, a),
        Command::Pending(a) => commands::pending::run(&cli.global, a),
        Command::Report(a) => commands::report::run(&cli.global, a),
        Command::Answers(a) => commands::answers::run(&cli.global, a),
        Command::Export(a) => commands::export::run(&cli.global, a),
        Command::Audit(a) => commands::export::audit(&cli.global, a),
        Command::Config(a) => commands::config::run(&cli.global, a),
        Command::Completions(a) => commands::completions::run(a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) if kura::output::is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            let code = e.downcast_ref::<ExitError>().map_or(2, |x| x.code);
            eprintln!(
                "kura: {}",
                kura::output::sanitize_text(&format!("{e:#}"), false)
            );
            std::process::exit(code);
        }
    }
}

/// mimalloc: tantivy's indexing allocates heavily; this makes import markedly faster.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
