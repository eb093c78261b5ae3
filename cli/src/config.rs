//! `upseed config show`: every setting's effective value and where it
//! came from, with secrets left out.

use std::io::Write;

use anyhow::Result;
use upseed_node::config::{Config, PasswordSource};
use upseed_node::{ConfigError, Home};

use crate::env::Env;

/// Prints the effective config of `home`.
pub(crate) fn show(env: &mut Env, home: &Home, as_json: bool) -> Result<()> {
    if !home.config.exists() {
        return Err(ConfigError::NotSetUp {
            path: home.config.clone(),
        }
        .into());
    }
    let (config, file) = Config::load_table(&home.config, &env.vars)?;
    let settings = config.shown(&file, &env.vars);
    let password = config.password_source(&env.vars);
    if as_json {
        let doc = crate::json::ConfigJson {
            file: home.config.clone(),
            settings,
            password,
        };
        writeln!(env.out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    let mut text = format!(
        "# {}\n# Each value's source is on its right: the config file, the default, or\n# the UPSEED_<SECTION>_<KEY> variable that overrides it.\n",
        home.config.display()
    );
    let mut section = "";
    for shown in &settings {
        let (table, key) = shown.key.rsplit_once('.').unwrap_or(("", &shown.key));
        if table != section {
            text.push_str(&format!("\n[{table}]\n"));
            section = table;
            if table == "client" {
                text.push_str(&match &password {
                    PasswordSource::None => {
                        "# password: none set (neither UPSEED_CLIENT_PASSWORD nor password_file)\n"
                            .to_owned()
                    }
                    source => format!("# password: {source}, not shown\n"),
                });
            }
        }
        let line = match &shown.value {
            Some(value) => format!("{key} = {value}"),
            None => format!("# {key} unset"),
        };
        text.push_str(&format!("{line:<40} # {}\n", shown.source));
    }
    write!(env.out, "{}", crate::render::clean(&text))?;
    Ok(())
}
