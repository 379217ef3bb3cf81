//! `kubectl-smbp`: the kubectl plugin (`kubectl smbp ...`). See docs/user/kubectl-plugin.md.

fn main() -> std::process::ExitCode {
    smbp_operator::plugin::cli::main()
}
