//! A whole question on the shipped corpus: query building, typo correction, names, the
//! decision. No panic; a confidence in range.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xiaoer::config::Config;
use xiaoer::engine::Engine;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let index = std::env::temp_dir().join(format!("xiaoer-fuzz-ask-{}", std::process::id()));
        let config = Config {
            corpus: "../corpus".into(),
            index,
            ..Config::default()
        };
        Engine::open_or_build(config, &mut |_, _| {}).expect("the shipped corpus indexes")
    })
}

fuzz_target!(|data: &[u8]| {
    let question = String::from_utf8_lossy(data);
    let reply = engine().ask(&question);
    assert!((0.0..=1.0).contains(&reply.confidence));
});
