//! The layering of `orm-core` (docs/12-architecture.md): each module imports only the
//! layers below its own. Read from the source, so a new `use` across layers fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Layers from the bottom up; a module may import its own layer and those before it.
const LAYERS: &[&[&str]] = &[
    &[
        "value",
        "decimal",
        "uuid",
        "json",
        "error",
        "log",
        "state",
        "untimed",
        "write_marks",
    ],
    &["dialect"],
    &["row", "url", "column_field"],
    &["backend"],
    &[
        "db",
        "pool",
        "lazy_loading",
        "replicas",
        "retry",
        "metrics",
        "after_commit",
    ],
    &["query"],
    &["model"],
    &["relation"],
    &["testing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

/// The top-level modules named as `crate::x` in code (comments left out).
fn imports(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
            rest = &rest[at + 7..];
        }
    }
    found
}

#[test]
fn each_module_imports_only_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../orm-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let own = layer_of(&module)
            .unwrap_or_else(|| panic!("{module} is in no layer: add it to LAYERS and the doc"));
        checked += 1;
        for import in imports(file) {
            match layer_of(&import) {
                Some(layer) if layer > own => {
                    violations.push(format!("{} imports crate::{import}", relative.display()))
                }
                _ => {}
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} files read from {}",
        src.display()
    );
    assert!(
        violations.is_empty(),
        "imports against the layering:\n{}",
        violations.join("\n")
    );
}
