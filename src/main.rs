//! The `xiaoer` command line: parses flags, loads the config, and calls the library.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use xiaoer::cli;
use xiaoer::config::Config;

#[derive(Parser)]
#[command(
    name = "xiaoer",
    version,
    about = "Investor-service chat bot: answers from policies and FAQs, hands off to commissioners"
)]
struct Cli {
    /// Config file (TOML); defaults to ./xiaoer.toml when present.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Corpus directory (policies/, faqs/, dict/).
    #[arg(long, global = true)]
    corpus: Option<PathBuf>,
    /// Index directory (generations and CURRENT).
    #[arg(long, global = true)]
    index: Option<PathBuf>,
    /// Conversation state directory (sled).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: web chat, staff console, admin page, JSON API.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<String>,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The conversation store itself.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Parse the corpus, build a new index generation and switch to it.
    Reindex,
    /// Answer one question ("-" reads one question per line from stdin).
    Ask {
        /// The question, or "-" for stdin.
        question: String,
        /// One JSON object per answer.
        #[arg(long)]
        json: bool,
    },
    /// A conversation in the terminal.
    Chat,
    /// Measure answer quality on evaluation questions (a .jsonl file or a directory).
    Eval {
        file: PathBuf,
        /// Show the decision table across thresholds and recommend some.
        #[arg(long)]
        sweep: bool,
        #[arg(long)]
        json: bool,
        /// One line per question with its features (for tuning).
        #[arg(long)]
        details: bool,
        /// Fit the confidence weights to these questions (logistic regression, checked
        /// by two-fold cross-validation) and print them as a `[decision.weights]` table.
        #[arg(long)]
        fit: bool,
        /// Sweep target: at most this % of in-scope questions answered wrong.
        #[arg(long, default_value_t = 3.0)]
        max_wrong: f64,
        /// Sweep target: at least this % of out-of-scope questions handed off or honestly declined.
        #[arg(long, default_value_t = 90.0)]
        min_handoff: f64,
        /// Sweep target: at most this % of out-of-scope questions answered.
        #[arg(long, default_value_t = 100.0)]
        max_oos_answered: f64,
    },
    /// Convert an office's existing files into corpus files.
    Import {
        /// .csv/.xlsx FAQ sheets, .txt/.md policy documents, .jsonl {"docid","text"}.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The corpus directory to write into.
        #[arg(long)]
        into: PathBuf,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a commissioner or admin; prints the token once, alone on the last line.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Districts this commissioner covers (comma-separated), e.g. 新吴区,惠山区.
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// Industries this commissioner covers (comma-separated), e.g. 集成电路.
        #[arg(long, value_delimiter = ',')]
        industries: Vec<String>,
        /// Also set a console password, read as one line from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The commissioner's WeCom UserID: new tickets reach them in WeCom and they can
        /// answer from there.
        #[arg(long, value_name = "USERID")]
        wecom: Option<String>,
    },
    /// Tie an account to a WeCom UserID, or, without one, untie it.
    Wecom {
        name: String,
        #[arg(value_name = "USERID")]
        user: Option<String>,
    },
    /// Set or replace a member of staff's console password, read as one line from
    /// standard input (10 to 256 characters).
    Password { name: String },
    /// List the accounts (name, role, state; never a secret).
    List,
    /// Stop an account's token, password and console sessions.
    Disable { name: String },
    /// Let a disabled account sign in again.
    Enable { name: String },
    /// Give an account a new API token (printed once); the old one stops working.
    Rotate { name: String },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy every record into an empty store (e.g. sled to PostgreSQL), then check the
    /// copy against the original. Stop `serve` first: a running desk holds the store.
    Copy {
        /// The store to copy: a sled data directory, or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// The empty store to copy into: a sled data directory, or a postgres:// URL.
        #[arg(long)]
        to: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Commissioner,
    Admin,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,xiaoer=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(c) = cli.corpus {
        config.corpus = c;
    }
    if let Some(i) = cli.index {
        config.index = i;
    }
    if let Some(d) = cli.data {
        config.data = d;
    }
    match cli.command {
        Command::Serve { addr } => {
            if let Some(a) = addr {
                config.addr = a;
            }
            cli::serve::serve(config)
        }
        Command::Staff { command } => {
            use xiaoer::cli::staff::{StaffOp, read_password};
            let op = match command {
                StaffCommand::Add {
                    name,
                    role,
                    regions,
                    industries,
                    password_stdin,
                    wecom,
                } => StaffOp::Add {
                    name,
                    role: match role {
                        RoleArg::Commissioner => xiaoer::desk::Role::Commissioner,
                        RoleArg::Admin => xiaoer::desk::Role::Admin,
                    },
                    regions,
                    industries,
                    password: password_stdin.then(read_password).transpose()?,
                    wecom,
                },
                StaffCommand::Wecom { name, user } => StaffOp::Wecom { name, user },
                StaffCommand::Password { name } => StaffOp::Password {
                    name,
                    password: read_password()?,
                },
                StaffCommand::List => StaffOp::List,
                StaffCommand::Disable { name } => StaffOp::Disable { name },
                StaffCommand::Enable { name } => StaffOp::Enable { name },
                StaffCommand::Rotate { name } => StaffOp::Rotate { name },
            };
            xiaoer::cli::staff::run(&config, &op)
        }
        Command::Store {
            command: StoreCommand::Copy { from, to },
        } => cli::store_copy::run(&from, &to),
        Command::Reindex => cli::reindex(&config),
        Command::Ask { question, json } => {
            let engine = cli::open_engine(&config)?;
            if question == "-" {
                cli::ask_lines(&engine, std::io::stdin().lock(), json)
            } else {
                cli::ask_one(&engine, &question, json)
            }
        }
        Command::Chat => cli::chat(&cli::open_engine(&config)?),
        Command::Eval {
            file,
            sweep,
            json,
            details,
            fit,
            max_wrong,
            min_handoff,
            max_oos_answered,
        } => cli::eval(
            &cli::open_engine(&config)?,
            &file,
            sweep,
            json,
            details,
            fit,
            cli::Criteria {
                max_wrong,
                min_handoff,
                max_oos_answered,
            },
        ),
        Command::Import { files, into } => cli::import(&files, &into),
    }
}
