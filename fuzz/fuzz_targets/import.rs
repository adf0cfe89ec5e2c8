//! `import` of an office's files: the first byte picks the format (CSV, XLSX, JSON Lines,
//! text), the rest is the file. Corpus files or an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const EXTENSIONS: [&str; 5] = ["csv", "xlsx", "jsonl", "txt", "md"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("xiaoer-fuzz-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("input.{}", EXTENSIONS[pick as usize % EXTENSIONS.len()]));
    std::fs::write(&file, bytes).unwrap();
    let _ = xiaoer::corpus::import::import_files(&[file], &dir.join("out"));
});
