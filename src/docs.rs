//! Man pages and shell completions, generated from the clap definitions in
//! [`crate::cli`] (the files in `man/` and `completions/` are these, committed;
//! a test fails when they are out of date, `KURA_UPDATE_DOCS=1 cargo test`
//! rewrites them).

use crate::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;

/// `(file name, contents)` of kura.1 and one page per subcommand.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = Vec::new();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    pages.push(("kura.1".to_string(), buf));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("kura-{}", sub.get_name());
        let sub = sub.clone().name(name.clone());
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub).render(&mut buf)?;
        pages.push((format!("{name}.1"), buf));
    }
    Ok(pages)
}

/// `(file name, contents)` of the bash, zsh and fish completions.
pub fn completions() -> Vec<(String, Vec<u8>)> {
    [
        (Shell::Bash, "kura.bash"),
        (Shell::Zsh, "_kura"),
        (Shell::Fish, "kura.fish"),
    ]
    .into_iter()
    .map(|(shell, file)| {
        let mut cmd = Cli::command();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "kura", &mut buf);
        (file.to_string(), buf)
    })
    .collect()
}
