//! Shared pieces of the reliability suite (`tests/tests/reliability_*.rs`): the long-mode
//! switch and the value-injection payload corpus.

/// Environment variable that switches the reliability checks to their long mode.
pub const LONG_MODE_VAR: &str = "ORM_RELIABILITY_LONG";

/// Whether the long mode is on (`ORM_RELIABILITY_LONG=1`).
pub fn long_mode() -> bool {
    std::env::var(LONG_MODE_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `short` in CI mode, `long` in long mode.
pub fn scaled(short: usize, long: usize) -> usize {
    if long_mode() {
        long
    } else {
        short
    }
}

/// Hand-written attack strings: each is bound as a value and must come back byte-exact.
/// None contains NUL (PostgreSQL text cannot hold it).
const BASE_PAYLOADS: &[&str] = &[
    // tautologies
    "' OR '1'='1",
    "' OR 1=1 --",
    "\" OR \"\"=\"",
    "' OR ''='",
    "1 OR 1=1",
    "1' OR '1'='1' /*",
    "admin'--",
    "') OR ('a'='a",
    "' OR 'x' LIKE 'x",
    "' OR TRUE; --",
    "x' AND 1=0 UNION SELECT secret FROM canary --",
    "' UNION ALL SELECT NULL, NULL --",
    // stacked statements
    "'; DROP TABLE canary; --",
    "\"; DROP TABLE canary; --",
    "'); DROP TABLE canary; --",
    "1; DELETE FROM canary",
    "'; UPDATE canary SET secret = 'pwned'; --",
    "'; INSERT INTO canary (id, secret) VALUES (99, 'pwned'); --",
    "'; TRUNCATE canary; --",
    "'; ATTACH DATABASE '/tmp/pwned.db' AS pwned; --",
    "'; COPY canary TO '/tmp/pwned'; --",
    "'; SELECT pg_sleep(10); --",
    "'; COMMIT; DROP TABLE canary; BEGIN; --",
    "'; ROLLBACK; --",
    // comment openers
    "--",
    "-- comment",
    "/*",
    "*/",
    "/* unterminated",
    "/**/ OR /**/ 1=1",
    "#",
    "# mysql comment",
    ";",
    ";;",
    // quotes and escapes
    "'",
    "''",
    "'''",
    "\"",
    "\"\"",
    "`",
    "``",
    "`canary`",
    "\\",
    "\\\\",
    "\\'",
    "\\'; DROP TABLE canary; --",
    "\\\"",
    "\\x27",
    "%27",
    "%27%20OR%201%3D1",
    "&#39;",
    "E'\\x27'",
    "'\\'",
    // dollar quoting
    "$$",
    "$$; DROP TABLE canary; $$",
    "$tag$",
    "$tag$; DROP TABLE canary; $tag$",
    "$body$ ' $body$",
    // placeholder look-alikes
    "?",
    "??",
    "? OR ?",
    "$1",
    "$1 OR $2",
    "$0",
    "$65535",
    ":name",
    "@p1",
    "%s",
    "%d",
    "{}",
    "?; DROP TABLE canary; --",
    // unicode look-alike quotes and odd characters
    "\u{2019} OR \u{2019}1\u{2019}=\u{2019}1",
    "\u{2018}\u{2019}\u{201C}\u{201D}",
    "\u{FF07} OR 1=1 --",
    "\u{02BC}; DROP TABLE canary; --",
    "\u{0027}\u{0301}",
    "\u{FE68}\u{FF3C}",
    "\u{00A0}' OR '1'='1",
    "\u{200B}'\u{200B}",
    "\u{202E}'; DROP TABLE canary; --",
    "\u{FEFF}'",
    "\u{1F600}'\u{1F4A5}",
    "\u{65E5}\u{672C}\u{8A9E}' OR '1'='1",
    "\u{0410}\u{0411}' --",
    "\u{10FFFF}",
    "\u{D7FF}\u{E000}",
    // control characters (no NUL)
    "\u{1}\u{2}\u{3}",
    "\t'\t",
    "\n'; DROP TABLE canary; --\n",
    "\r\n",
    "\u{8}\u{7f}",
    "\u{1b}[31m",
    "\u{1a}",
    "line1\nline2\rline3",
    // LIKE metacharacters
    "%",
    "_",
    "%%",
    "\\%",
    "a%b_c",
    "[a-z]",
    "[^a]",
    // keywords and odd literals
    "NULL",
    "null",
    "TRUE",
    "DEFAULT",
    "SELECT",
    "*",
    "1=1",
    "0x27",
    "CHAR(39)",
    "chr(39)",
    "X'27'",
    "B'1'",
    "' || (SELECT secret FROM canary LIMIT 1) || '",
    "'||'",
    "' + '",
    "'::text",
    "::regclass",
    "' COLLATE \"C\" --",
    "'); SELECT * FROM sqlite_master; --",
    "' AND (SELECT COUNT(*) FROM information_schema.tables) > 0 --",
    "1e309",
    "-0",
    "NaN",
    "",
    " ",
    "   ",
    // json-ish
    "{\"a\": \"'; DROP TABLE canary; --\"}",
    "[1, 2, \"'\"]",
];

/// The payload corpus: the hand-written strings, each also wrapped between ordinary
/// text and doubled, plus long strings (one of 1 MiB). At least 200 entries, no NUL.
pub fn payloads() -> Vec<String> {
    let mut out: Vec<String> = BASE_PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    for base in BASE_PAYLOADS.iter().filter(|p| !p.is_empty()).step_by(2) {
        out.push(format!("before {base} after"));
    }
    for base in BASE_PAYLOADS.iter().filter(|p| !p.is_empty()).step_by(5) {
        out.push(format!("{base}{base}"));
    }
    out.push("'".repeat(4096));
    out.push("'; DROP TABLE canary; --".repeat(1000));
    out.push("\u{1F600}".repeat(10_000));
    let mut mebibyte = String::with_capacity(1 << 20);
    while mebibyte.len() < (1 << 20) {
        mebibyte.push_str("'; DROP TABLE canary; -- \\' $$ ? $1 ");
    }
    mebibyte.truncate(1 << 20);
    out.push(mebibyte);
    out
}

/// The payload of the panics the reliability suite injects; see [`quiet_injected_panics`].
#[derive(Debug)]
pub struct InjectedPanic;

/// Panics with [`InjectedPanic`].
pub fn inject_panic() -> ! {
    std::panic::panic_any(InjectedPanic)
}

/// Installs (once) a panic hook that stays silent for [`InjectedPanic`] and reports every
/// other panic as the default hook does.
pub fn quiet_injected_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<InjectedPanic>().is_none() {
                default(info);
            }
        }));
    });
}

/// On PostgreSQL, stops this session's commits from waiting for their WAL flush: the
/// suite makes thousands of tiny commits, and durability across a server crash is not
/// what it measures. A no-op on SQLite.
pub fn relax_durability() -> orm_core::Result<()> {
    if crate::backend() == orm_core::Backend::Postgres {
        orm_core::DB::statement("SET synchronous_commit TO off")?;
    }
    Ok(())
}
