//! English inflection of table and key names, shared by `#[derive(Model)]` (table and
//! pivot names), orm-core (pivot names at run time) and `craft` (scaffolded tables), so
//! that every part of the ORM names a table the same way: `User` → `users`, `Category` →
//! `categories`, `Person` → `people`, `BlogPost` → `blog_posts`, `Bus` → `buses`; and back
//! (`movies` → `movie`, `statuses` → `status`).
//!
//! Names are snake_case: only the last word is inflected (`blog_posts` ↔ `blog_post`).
//! The rules are English's regular ones, with tables for the words that do not follow
//! them: irregular plurals (`person`/`people`), words that do not change (`sheep`,
//! `news`), and the endings that are ambiguous without a dictionary (`movies` is `movie`
//! but `categories` is `category`; `buses` is `bus` but `houses` is `house`; `heroes` is
//! `hero` but `shoes` is `shoe`; `wolves` is `wolf` but `archives` is `archive`).
#![deny(missing_docs)]

/// (singular, plural) pairs that do not follow the rules.
const IRREGULAR: &[(&str, &str)] = &[
    ("person", "people"),
    ("man", "men"),
    ("woman", "women"),
    ("child", "children"),
    ("mouse", "mice"),
    ("louse", "lice"),
    ("goose", "geese"),
    ("tooth", "teeth"),
    ("foot", "feet"),
    ("ox", "oxen"),
    ("criterion", "criteria"),
    ("phenomenon", "phenomena"),
    ("datum", "data"),
    ("medium", "media"),
    ("curriculum", "curricula"),
    ("bacterium", "bacteria"),
    ("analysis", "analyses"),
    ("crisis", "crises"),
    ("thesis", "theses"),
    ("diagnosis", "diagnoses"),
    ("hypothesis", "hypotheses"),
    ("parenthesis", "parentheses"),
    ("synopsis", "synopses"),
    ("cactus", "cacti"),
    ("fungus", "fungi"),
    ("nucleus", "nuclei"),
    ("radius", "radii"),
    ("stimulus", "stimuli"),
    ("alumnus", "alumni"),
    ("matrix", "matrices"),
    ("vertex", "vertices"),
    ("index", "indices"),
    ("appendix", "appendices"),
    ("quiz", "quizzes"),
    // -f / -fe → -ves (most -f words just take -s: roofs, chiefs, beliefs).
    ("leaf", "leaves"),
    ("loaf", "loaves"),
    ("knife", "knives"),
    ("life", "lives"),
    ("wife", "wives"),
    ("midwife", "midwives"),
    ("half", "halves"),
    ("calf", "calves"),
    ("wolf", "wolves"),
    ("shelf", "shelves"),
    ("self", "selves"),
    ("elf", "elves"),
    ("thief", "thieves"),
    ("scarf", "scarves"),
    ("sheaf", "sheaves"),
    ("wharf", "wharves"),
    ("hoof", "hooves"),
    // -o → -oes (most -o words just take -s: photos, videos, radios, zoos; and every
    // other -oes plural is -oe + s: shoes, canoes, toes).
    ("hero", "heroes"),
    ("potato", "potatoes"),
    ("tomato", "tomatoes"),
    ("echo", "echoes"),
    ("veto", "vetoes"),
    ("torpedo", "torpedoes"),
    ("embargo", "embargoes"),
    ("volcano", "volcanoes"),
    ("tornado", "tornadoes"),
    ("mosquito", "mosquitoes"),
    // -ch said as k takes -s.
    ("epoch", "epochs"),
    ("stomach", "stomachs"),
    ("monarch", "monarchs"),
    ("patriarch", "patriarchs"),
    ("tech", "techs"),
];

/// Words that are the same in singular and plural.
const UNCOUNTABLE: &[&str] = &[
    "sheep",
    "fish",
    "deer",
    "moose",
    "bison",
    "salmon",
    "trout",
    "swine",
    "aircraft",
    "offspring",
    "series",
    "species",
    "chassis",
    "news",
    "equipment",
    "information",
    "rice",
    "money",
    "metadata",
    "feedback",
    "software",
    "hardware",
    "firmware",
    "furniture",
    "luggage",
    "baggage",
    "police",
    "traffic",
    "advice",
    "knowledge",
    "evidence",
    "audio",
    "homework",
    "jewelry",
];

/// Singular words ending in a single `s`: their plural adds `-es` (`bus` → `buses`), and
/// a plural `-ses` is theirs only when listed here (`buses` → `bus`, but `houses` →
/// `house`).
const ENDING_IN_S: &[&str] = &[
    "alias",
    "apparatus",
    "atlas",
    "bias",
    "bonus",
    "bus",
    "campus",
    "canvas",
    "census",
    "chorus",
    "circus",
    "corpus",
    "focus",
    "gas",
    "genius",
    "iris",
    "lens",
    "minibus",
    "nexus",
    "octopus",
    "omnibus",
    "plus",
    "prospectus",
    "status",
    "surplus",
    "syllabus",
    "virus",
    "walrus",
];

/// Singular words ending in `-ie`: their plural `-ies` is not `-y`'s (`movies` →
/// `movie`, but `categories` → `category`). One-letter stems (`pie`, `tie`, `lie`, `die`)
/// are recognised without the list.
const ENDING_IN_IE: &[&str] = &[
    "auntie", "birdie", "bootie", "brownie", "budgie", "calorie", "collie", "cookie", "cutie",
    "eerie", "freebie", "genie", "goalie", "groupie", "hippie", "hoodie", "junkie", "magpie",
    "movie", "necktie", "newbie", "pixie", "prairie", "rookie", "selfie", "smoothie", "sortie",
    "veggie", "zombie",
];

/// Singular words ending in `-che`: their plural `-ches` is not `-ch`'s (`caches` →
/// `cache`, but `matches` → `match`).
const ENDING_IN_CHE: &[&str] = &[
    "ache",
    "avalanche",
    "cache",
    "cliche",
    "creche",
    "headache",
    "microfiche",
    "moustache",
    "mustache",
    "niche",
    "psyche",
    "quiche",
];

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// `BlogPost` → `blog_post`, `HTTPRequest` → `http_request`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0
                && (prev_lower || (next_lower && chars[i - 1].is_uppercase()))
                && !out.ends_with('_')
            {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn split_last_word(name: &str) -> (&str, &str) {
    match name.rfind('_') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    }
}

/// The plural of a snake_case name (only its last word changes): `blog_post` →
/// `blog_posts`, `category` → `categories`, `person` → `people`, `bus` → `buses`.
pub fn pluralize(name: &str) -> String {
    let (head, word) = split_last_word(name);
    format!("{head}{}", pluralize_word(word))
}

fn pluralize_word(word: &str) -> String {
    if word.is_empty() || UNCOUNTABLE.contains(&word) {
        return word.to_owned();
    }
    if let Some((_, plural)) = IRREGULAR.iter().find(|(s, _)| *s == word) {
        return (*plural).to_owned();
    }
    // Already plural (a model named `Users` or `People`): kept, as Laravel's
    // `Str::plural` keeps it, rather than `userses`.
    if IRREGULAR.iter().any(|(_, p)| *p == word) {
        return word.to_owned();
    }
    let singular = singularize_word(word);
    if singular != word && regular_plural(&singular) == word {
        return word.to_owned();
    }
    regular_plural(word)
}

fn regular_plural(word: &str) -> String {
    if word.is_empty() {
        return String::new();
    }
    let bytes = word.as_bytes();
    let last = bytes[bytes.len() - 1];
    let before = bytes.len().checked_sub(2).map(|i| bytes[i]);
    // `-quy` sounds as a consonant + y: soliloquy → soliloquies.
    let consonant_y = before.is_some_and(|b| !is_vowel(b)) || word.ends_with("quy");
    if last == b'y' && consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with('s')
        || word.ends_with('x')
        || word.ends_with('z')
        || word.ends_with("ch")
        || word.ends_with("sh")
    {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// The singular of a snake_case plural (only its last word changes): `roles` → `role`,
/// `categories` → `category`, `movies` → `movie`, `people` → `person`, `buses` → `bus`,
/// `addresses` → `address`. A word that is already singular is returned unchanged when
/// it ends in `-ss`, `-us` or `-is`, or is an irregular or listed `-s` singular.
pub fn singularize(name: &str) -> String {
    let (head, word) = split_last_word(name);
    format!("{head}{}", singularize_word(word))
}

fn singularize_word(word: &str) -> String {
    if word.is_empty() || UNCOUNTABLE.contains(&word) || ENDING_IN_S.contains(&word) {
        return word.to_owned();
    }
    if let Some((singular, _)) = IRREGULAR.iter().find(|(_, p)| *p == word) {
        return (*singular).to_owned();
    }
    if IRREGULAR.iter().any(|(s, _)| *s == word) {
        return word.to_owned();
    }
    let with = |stem: &str, suffix: &str| format!("{stem}{suffix}");
    if let Some(stem) = word.strip_suffix("ies") {
        let ie = with(stem, "ie");
        return if stem.len() <= 1 || ENDING_IN_IE.contains(&ie.as_str()) {
            ie
        } else {
            with(stem, "y")
        };
    }
    if let Some(stem) = word.strip_suffix("ches") {
        let che = with(stem, "che");
        return if ENDING_IN_CHE.contains(&che.as_str()) {
            che
        } else {
            with(stem, "ch")
        };
    }
    if let Some(stem) = word.strip_suffix("es") {
        if ENDING_IN_S.contains(&stem) {
            return stem.to_owned();
        }
        for suffix in ["ss", "sh", "x", "zz", "tz"] {
            if stem.ends_with(suffix) {
                return stem.to_owned();
            }
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}

/// The conventional table of a model type name: `User` → `users`, `BlogPost` →
/// `blog_posts`; a name already plural stays so (`Users` → `users`, `People` →
/// `people`).
pub fn table_name(type_name: &str) -> String {
    pluralize(&snake_case(type_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (singular, plural): each must inflect into the other.
    const PAIRS: &[(&str, &str)] = &[
        // regular
        ("user", "users"),
        ("role", "roles"),
        ("post", "posts"),
        ("house", "houses"),
        ("case", "cases"),
        ("response", "responses"),
        ("database", "databases"),
        ("archive", "archives"),
        ("move", "moves"),
        ("valve", "valves"),
        ("shoe", "shoes"),
        ("canoe", "canoes"),
        ("photo", "photos"),
        ("video", "videos"),
        ("zoo", "zoos"),
        ("roof", "roofs"),
        ("chief", "chiefs"),
        ("size", "sizes"),
        ("prize", "prizes"),
        // irregular
        ("person", "people"),
        ("man", "men"),
        ("woman", "women"),
        ("child", "children"),
        ("mouse", "mice"),
        ("goose", "geese"),
        ("tooth", "teeth"),
        ("foot", "feet"),
        ("ox", "oxen"),
        ("criterion", "criteria"),
        ("medium", "media"),
        ("analysis", "analyses"),
        ("crisis", "crises"),
        ("cactus", "cacti"),
        ("matrix", "matrices"),
        ("index", "indices"),
        ("quiz", "quizzes"),
        ("epoch", "epochs"),
        // uncountable
        ("sheep", "sheep"),
        ("fish", "fish"),
        ("series", "series"),
        ("species", "species"),
        ("news", "news"),
        ("equipment", "equipment"),
        ("information", "information"),
        ("feedback", "feedback"),
        // -y / -ies / -ie
        ("category", "categories"),
        ("city", "cities"),
        ("company", "companies"),
        ("soliloquy", "soliloquies"),
        ("key", "keys"),
        ("day", "days"),
        ("boy", "boys"),
        ("survey", "surveys"),
        ("movie", "movies"),
        ("cookie", "cookies"),
        ("zombie", "zombies"),
        ("pie", "pies"),
        ("tie", "ties"),
        // -s / -ses
        ("bus", "buses"),
        ("status", "statuses"),
        ("alias", "aliases"),
        ("virus", "viruses"),
        ("campus", "campuses"),
        ("gas", "gases"),
        ("address", "addresses"),
        ("class", "classes"),
        ("process", "processes"),
        ("business", "businesses"),
        // -x, -z
        ("box", "boxes"),
        ("tax", "taxes"),
        ("suffix", "suffixes"),
        ("buzz", "buzzes"),
        ("waltz", "waltzes"),
        // -ch, -sh
        ("match", "matches"),
        ("branch", "branches"),
        ("church", "churches"),
        ("cache", "caches"),
        ("niche", "niches"),
        ("dish", "dishes"),
        ("wish", "wishes"),
        // -f / -fe / -ves
        ("knife", "knives"),
        ("wife", "wives"),
        ("life", "lives"),
        ("leaf", "leaves"),
        ("wolf", "wolves"),
        ("shelf", "shelves"),
        ("half", "halves"),
        ("thief", "thieves"),
        // -o / -oes
        ("hero", "heroes"),
        ("potato", "potatoes"),
        ("tomato", "tomatoes"),
        ("echo", "echoes"),
        // snake_case compounds: only the last word changes
        ("blog_post", "blog_posts"),
        ("sales_person", "sales_people"),
        ("product_category", "product_categories"),
        ("order_status", "order_statuses"),
        ("email_address", "email_addresses"),
        ("school_bus", "school_buses"),
        ("bus_stop", "bus_stops"),
        ("news_item", "news_items"),
        ("v2_item", "v2_items"),
    ];

    #[test]
    fn pluralize_and_singularize_invert_each_other() {
        let mut failures = Vec::new();
        for (singular, plural) in PAIRS {
            if pluralize(singular) != *plural {
                failures.push(format!("pluralize({singular}) = {}", pluralize(singular)));
            }
            if singularize(plural) != *singular {
                failures.push(format!("singularize({plural}) = {}", singularize(plural)));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(PAIRS.len() >= 60);
    }

    #[test]
    fn singular_words_stay_singular() {
        for word in [
            "status", "bus", "alias", "address", "class", "news", "sheep", "analysis", "person",
            "child", "series",
        ] {
            assert_eq!(singularize(word), word);
        }
    }

    #[test]
    fn table_names_follow_the_conventions() {
        for (model, table) in [
            ("User", "users"),
            ("Category", "categories"),
            ("Person", "people"),
            ("BlogPost", "blog_posts"),
            ("Box", "boxes"),
            ("Day", "days"),
            ("Child", "children"),
            ("Address", "addresses"),
            ("HTTPRequest", "http_requests"),
            ("Sheep", "sheep"),
            ("Status", "statuses"),
            ("Movie", "movies"),
            ("Bus", "buses"),
            ("Hero", "heroes"),
            ("Wolf", "wolves"),
            ("OrderStatus", "order_statuses"),
        ] {
            assert_eq!(table_name(model), table, "{model}");
        }
    }

    #[test]
    fn snake_case_splits_words() {
        for (name, snake) in [
            ("BlogPost", "blog_post"),
            ("HTTPRequest", "http_request"),
            ("User", "user"),
            ("OAuth2Token", "o_auth2_token"),
            ("already_snake", "already_snake"),
        ] {
            assert_eq!(snake_case(name), snake, "{name}");
        }
    }

    #[test]
    fn a_name_already_plural_stays_plural() {
        for (name, table) in [
            ("Users", "users"),
            ("People", "people"),
            ("BlogPosts", "blog_posts"),
            ("Categories", "categories"),
            ("Status", "statuses"),
            ("Address", "addresses"),
            ("Person", "people"),
        ] {
            assert_eq!(table_name(name), table, "{name}");
        }
    }
}
