//! `warden shell-init`: shell functions that send `npm`, `npx`, `pip`,
//! `pip3` and `python -m pip` through warden, and the text that removes
//! them. `command npm` (bash, zsh, fish) still reaches npm itself.

use crate::cli::{Shell, ShellInitArgs};

/// The commands the functions take over.
const WRAPPED: &[&str] = &["npm", "npx", "pip", "pip3", "python", "python3"];

pub fn init(args: &ShellInitArgs) -> String {
    if args.uninstall {
        return uninstall(args.shell);
    }
    match args.shell {
        Shell::Bash | Shell::Zsh => posix(),
        Shell::Fish => fish(),
        Shell::Powershell => powershell(),
    }
}

fn posix() -> String {
    let mut out = String::from(
        "# warden shell integration: npm, npx, pip and `python -m pip` go through warden.\n\
         # `command npm ...` runs npm itself. Remove with: eval \"$(warden shell-init --uninstall bash)\"\n",
    );
    for tool in ["npm", "npx", "pip", "pip3"] {
        out.push_str(&format!("{tool}() {{ command warden {tool} \"$@\"; }}\n"));
    }
    for python in ["python", "python3"] {
        out.push_str(&format!(
            "{python}() {{\n  if [ \"$1\" = \"-m\" ] && {{ [ \"$2\" = \"pip\" ] || [ \"$2\" = \"pip3\" ]; }}; then\n    shift 2\n    command warden {python} -m pip \"$@\"\n  else\n    command {python} \"$@\"\n  fi\n}}\n"
        ));
    }
    out
}

fn fish() -> String {
    let mut out = String::from(
        "# warden shell integration: npm, npx, pip and `python -m pip` go through warden.\n\
         # `command npm ...` runs npm itself. Remove with: warden shell-init --uninstall fish | source\n",
    );
    for tool in ["npm", "npx", "pip", "pip3"] {
        out.push_str(&format!(
            "function {tool} --wraps {tool}\n    command warden {tool} $argv\nend\n"
        ));
    }
    for python in ["python", "python3"] {
        out.push_str(&format!(
            "function {python} --wraps {python}\n    if test (count $argv) -ge 2; and test \"$argv[1]\" = -m; and contains -- \"$argv[2]\" pip pip3\n        command warden {python} -m pip $argv[3..-1]\n    else\n        command {python} $argv\n    end\nend\n"
        ));
    }
    out
}

fn powershell() -> String {
    let mut out = String::from(
        "# warden shell integration: npm, npx, pip and `python -m pip` go through warden.\n\
         # Remove with: warden shell-init --uninstall powershell | Out-String | Invoke-Expression\n",
    );
    for tool in ["npm", "npx", "pip", "pip3"] {
        out.push_str(&format!(
            "function global:{tool} {{ warden {tool} @args }}\n"
        ));
    }
    for python in ["python", "python3"] {
        out.push_str(&format!(
            "function global:{python} {{\n    if ($args.Count -ge 2 -and $args[0] -eq '-m' -and ($args[1] -eq 'pip' -or $args[1] -eq 'pip3')) {{\n        $rest = @($args | Select-Object -Skip 2)\n        warden {python} -m pip @rest\n    }} else {{\n        $exe = Get-Command {python} -CommandType Application | Select-Object -First 1\n        & $exe @args\n    }}\n}}\n"
        ));
    }
    out
}

fn uninstall(shell: Shell) -> String {
    match shell {
        Shell::Bash | Shell::Zsh => format!("unset -f {}\n", WRAPPED.join(" ")),
        Shell::Fish => format!("functions -e {}\n", WRAPPED.join(" ")),
        Shell::Powershell => format!(
            "Remove-Item {}\n",
            WRAPPED
                .iter()
                .map(|t| format!("Function:\\{t}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(shell: Shell, uninstall: bool) -> ShellInitArgs {
        ShellInitArgs { shell, uninstall }
    }

    /// Runs `script` in bash after the integration, with a `warden` on
    /// PATH that prints how it was called and a `python` that says it is
    /// itself.
    fn in_bash(script: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("warden", "echo \"warden $*\""),
            ("python", "echo \"python itself $*\""),
            ("npm", "echo \"npm itself $*\""),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("bash")
            .arg("--norc")
            .arg("-c")
            .arg(format!("{}\n{script}", init(&args(Shell::Bash, false))))
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn bash_sends_the_package_managers_through_warden_and_nothing_else() {
        let out = in_bash(
            "npm install express\nnpx cowsay hi\npip install -r 'req s.txt'\npython -m pip install six\npython -c 1\ncommand npm ci",
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "warden npm install express",
                "warden npx cowsay hi",
                "warden pip install -r req s.txt",
                "warden python -m pip install six",
                "python itself -c 1",
                "npm itself ci",
            ]
        );
    }

    #[test]
    fn bash_uninstall_removes_every_function() {
        let out = in_bash(&format!(
            "{}npm ci\npython -m pip list",
            init(&args(Shell::Bash, true))
        ));
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["npm itself ci", "python itself -m pip list"]
        );
    }

    #[test]
    fn every_shell_wraps_every_command() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let text = init(&args(shell, false));
            let undo = init(&args(shell, true));
            for tool in WRAPPED {
                assert!(text.contains(&format!("warden {tool}")), "{shell:?} {tool}");
                assert!(undo.contains(tool), "{shell:?} {tool}");
            }
        }
    }
}
