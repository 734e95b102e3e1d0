//! `kura customers` and `kura config` end to end: customer keys and counts
//! against the fixture ground truth and the synthetic corpus's truth,
//! directions, configuration sources and errors.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURE_CONFIG: &str = "\
# the sample company
internal_domains = [\"minato-shokai.co.jp\"]
shared_address = \"support@minato-shokai.co.jp\"
";

/// A kura command that sees only the configuration the test gives it.
fn kura_cfg(archive: &Path, config_home: &Path) -> Command {
    let mut c = kura(archive);
    c.env_remove("KURA_CONFIG")
        .env("XDG_CONFIG_HOME", config_home);
    c
}

/// [`kura_cfg`] with `--config CONFIG`.
fn kura_with(archive: &Path, config_home: &Path, config: &Path) -> Command {
    let mut c = kura_cfg(archive, config_home);
    c.arg("--config").arg(config);
    c
}

struct Fixture {
    _dir: tempfile::TempDir,
    archive: PathBuf,
    config: PathBuf,
    home: PathBuf,
}

fn fixture_archive() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let home = dir.path().join("xdg");
    std::fs::create_dir_all(&home).unwrap();
    let config = dir.path().join("kura.toml");
    std::fs::write(&config, FIXTURE_CONFIG).unwrap();
    import_fixtures(&archive);
    Fixture {
        _dir: dir,
        archive,
        config,
        home,
    }
}

fn json_out(cmd: &mut Command) -> Value {
    let o = run(cmd);
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// `customers --format json` as key -> object.
fn customers(fx: &Fixture, query: &[&str]) -> BTreeMap<String, Value> {
    let v = json_out(
        kura_with(&fx.archive, &fx.home, &fx.config)
            .args(["customers", "--format", "json"])
            .args(query),
    );
    v.as_array()
        .expect("an array")
        .iter()
        .map(|c| (c["key"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn fixture_customers_equal_the_ground_truth() {
    let fx = fixture_archive();
    let got = customers(&fx, &[]);
    let exp = expected();
    let exp = exp["customers"].as_object().unwrap();
    // The keys kura should make of the ground truth: registrable domains of
    // company addresses, whole addresses at free-mail domains.
    let free = ["gmail.com", "docomo.ne.jp"];
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (k, n) in exp {
        let n = n.as_u64().unwrap();
        let domain = k.rsplit('@').next().unwrap();
        let keyed_by_address = free.contains(&domain);
        let is_key = if k.contains('@') {
            keyed_by_address
        } else {
            !keyed_by_address && k != "tokyo.kyowa-shoji.co.jp"
        };
        if is_key && n > 0 {
            want.insert(k.clone(), n);
        }
    }
    let have: BTreeMap<String, u64> = got
        .iter()
        .map(|(k, v)| (k.clone(), v["messages"].as_u64().unwrap()))
        .collect();
    assert_eq!(have, want);
    // Spot checks of the above, spelled out.
    assert_eq!(have["kyowa-shoji.co.jp"], 6, "subdomain folded in");
    assert!(!have.contains_key("tokyo.kyowa-shoji.co.jp"));
    assert_eq!(have["kenta.watanabe.1987@gmail.com"], 2);
    assert_eq!(have["takahashi.k-0707@docomo.ne.jp"], 1);
    assert!(!have.contains_key("gmail.com") && !have.contains_key("docomo.ne.jp"));
    // The conflict copy is not another message.
    assert_eq!(have["maruei-logi.co.jp"], 2);
    // The sender of a forwarded (attached) message is no participant.
    assert!(!have.contains_key("aoba-ss.co.jp"));
    assert!(!have.keys().any(|k| k.ends_with("minato-shokai.co.jp")));

    let gmail = &got["kenta.watanabe.1987@gmail.com"];
    assert_eq!(gmail["kind"], "address");
    assert_eq!(gmail["name"], "渡辺健太");
    // The customer wrote once; the shared address answered (outbound).
    assert_eq!(
        (gmail["inbound"].as_u64(), gmail["outbound"].as_u64()),
        (Some(1), Some(1))
    );
    let kyowa = &got["kyowa-shoji.co.jp"];
    assert_eq!(kyowa["kind"], "domain");
    assert_eq!(kyowa["threads"], 3);
    assert_eq!(kyowa["first_contact"], "2024-03-04T10:12:03+09:00");
    let staff: Vec<&str> = kyowa["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["address"].as_str().unwrap())
        .collect();
    assert!(staff.contains(&"yamada@minato-shokai.co.jp"), "{staff:?}");
    assert!(!staff.contains(&"support@minato-shokai.co.jp"), "{staff:?}");
    // ACME: two mails from the customer, two staff replies.
    let acme = &got["acme-corp.com"];
    assert_eq!(
        (acme["inbound"].as_u64(), acme["outbound"].as_u64()),
        (Some(2), Some(2))
    );
    // Named by the organisation their mail signs with, not by a person.
    assert_eq!(acme["name"], "ACME Corp.");
    assert_eq!(acme["organisation"], "ACME Corp.");
    assert_eq!(kyowa["name"], "株式会社協和商事");
    // A free-mail customer is a person: the display name.
    assert_eq!(gmail["organisation"], Value::Null);
    // Staff sign with the company's own name, and it names no customer.
    for (key, c) in &got {
        assert!(
            !c["name"].as_str().unwrap().contains("みなと商会"),
            "{key}: {c}"
        );
    }
}

#[test]
fn show_lists_addresses_people_staff_and_months() {
    let fx = fixture_archive();
    let v = json_out(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--format",
        "json",
        "--show",
        "tokyo.kyowa-shoji.co.jp",
    ]));
    assert_eq!(v["key"], "kyowa-shoji.co.jp");
    assert_eq!(v["messages"], 6);
    let addresses: Vec<(String, u64)> = v["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap().to_string(),
                a["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            ("tanaka@kyowa-shoji.co.jp".to_string(), 4),
            ("ito@tokyo.kyowa-shoji.co.jp".to_string(), 2)
        ]
    );
    let people: Vec<&str> = v["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        people.contains(&"協和商事 東京支店 伊藤 由美"),
        "{people:?}"
    );
    assert_eq!(
        v["months"],
        serde_json::json!([{"month": "2024-03", "messages": 6}])
    );

    // Keyed by an address of the customer, the same customer.
    let by_addr = json_out(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--format",
        "json",
        "--show",
        "ito@tokyo.kyowa-shoji.co.jp",
    ]));
    assert_eq!(by_addr["key"], "kyowa-shoji.co.jp");

    // Staff are not customers.
    let o = run(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--show",
        "kobayashi@minato-shokai.co.jp",
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("staff"), "{}", stderr(&o));
    let o = run(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--show",
        "minato-shokai.co.jp",
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("staff"), "{}", stderr(&o));
    let o = run(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--show",
        "nobody.example.com",
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no customer example.com"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn visit_reports_are_internal_and_make_no_customer() {
    let fx = fixture_archive();
    // The two 日報 mails alone: staff to the shared address, no customer.
    assert_eq!(count(&fx.archive, "subject:日報"), 2);
    let o = run(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--format",
        "json",
        "subject:日報",
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "[]");
    // Their direction, through the library on the same archive.
    let config = kura::config::Config::parse(FIXTURE_CONFIG, Path::new("test.toml")).unwrap();
    let classifier = kura::customers::Classifier::new(&config);
    let archive = kura::archive::Archive {
        root: fx.archive.clone(),
    };
    let store = kura::store::Store::open_ro(&archive).unwrap();
    let mut directions = BTreeMap::new();
    kura::customers::scan(&store, &classifier, |_, m| {
        directions.insert(m.row, m.direction);
    })
    .unwrap();
    let subject_of = |row: i64| -> String {
        store
            .conn
            .query_row("SELECT subject FROM messages WHERE id = ?1", [row], |r| {
                r.get(0)
            })
            .unwrap()
    };
    use kura::customers::Direction;
    let mut reports = 0;
    for (row, d) in &directions {
        let s = subject_of(*row);
        if s.contains("【日報】") {
            reports += 1;
            assert_eq!(*d, Direction::Internal, "{s}");
        }
        if s == "Re: 振込の件で確認です" || s.starts_with("Re: Invoice") && *d != Direction::Inbound
        {
            assert_eq!(*d, Direction::Outbound, "{s}");
        }
        if s == "請求書の再発行のお願い" || s == "振込の件で確認です" {
            assert_eq!(*d, Direction::Inbound, "{s}");
        }
    }
    assert_eq!(reports, 2);
    // One customer's messages, as an export takes them: oldest first.
    let kyowa = kura::customers::messages_of(&store, &classifier, "kyowa-shoji.co.jp").unwrap();
    assert_eq!(kyowa.len(), 6);
    assert!(kyowa.windows(2).all(|w| w[0].date <= w[1].date));
    assert_eq!(kyowa[0].direction, Direction::Inbound);
    assert_eq!(subject_of(kyowa[0].row), "請求書の再発行のお願い");
    assert!(kyowa.iter().any(|m| m.direction == Direction::Outbound));
    let count_of = |want: Direction| directions.values().filter(|d| **d == want).count();
    assert!(count_of(Direction::Inbound) > count_of(Direction::Outbound));
    assert!(count_of(Direction::Outbound) >= 4);
}

#[test]
fn a_query_narrows_the_customers_and_formats_agree() {
    let fx = fixture_archive();
    // Four messages: the customer's request, the reply, the answer, and an
    // internal forward between staff (which has no customer).
    assert_eq!(count(&fx.archive, "subject:請求書の再発行"), 4);
    let got = customers(&fx, &["subject:請求書の再発行"]);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["kyowa-shoji.co.jp"]);
    assert_eq!(got["kyowa-shoji.co.jp"]["messages"], 3);
    assert_eq!(got["kyowa-shoji.co.jp"]["threads"], 1);

    let csv = stdout(&run(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--format",
        "csv",
        "--sort",
        "messages",
    ])));
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("key,kind,name,messages,"));
    assert!(csv.lines().next().unwrap().ends_with(",staff,organisation"));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &first[..4],
        ["kyowa-shoji.co.jp", "domain", "株式会社協和商事", "6"]
    );
    assert_eq!(first.last(), Some(&"株式会社協和商事"), "the organisation");
    assert_eq!(csv.lines().count(), 1 + customers(&fx, &[]).len());

    let jsonl = stdout(&run(kura_with(&fx.archive, &fx.home, &fx.config).args([
        "customers",
        "--format",
        "jsonl",
        "--sort",
        "last",
    ])));
    let dates: Vec<String> = jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["last_contact"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest last contact first");
}

#[test]
fn without_configuration_everything_is_external() {
    let fx = fixture_archive();
    let v = json_out(kura_cfg(&fx.archive, &fx.home).args(["customers", "--format", "json"]));
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"minato-shokai.co.jp"), "{keys:?}");
}

#[test]
fn config_shows_where_values_come_from() {
    let fx = fixture_archive();
    // Nothing configured.
    let v = json_out(kura_cfg(&fx.archive, &fx.home).args(["config", "--format", "json"]));
    assert_eq!(v["file"], Value::Null);
    assert_eq!(v["internal_domains"]["source"], "default");
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("no internal_domains")
    );
    let searched = v["searched"].as_array().unwrap();
    assert_eq!(
        searched[0].as_str().unwrap(),
        fx.home.join("kura/config.toml").to_str().unwrap()
    );
    assert_eq!(
        searched[1].as_str().unwrap(),
        fx.archive.join("config.toml").to_str().unwrap()
    );

    // --config, and KURA_CONFIG.
    let path = fx.config.to_str().unwrap();
    let v =
        json_out(kura_with(&fx.archive, &fx.home, &fx.config).args(["config", "--format", "json"]));
    assert_eq!(v["file"], path);
    assert_eq!(v["found_by"], "option");
    assert_eq!(
        v["internal_domains"]["value"],
        serde_json::json!(["minato-shokai.co.jp"])
    );
    assert_eq!(v["internal_domains"]["source"], path);
    assert_eq!(v["shared_address"]["source"], path);
    assert_eq!(v["free_mail_domains"]["source"], "default");
    assert!(
        v["free_mail_domains"]["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "docomo.ne.jp")
    );
    assert_eq!(v["notes"], serde_json::json!([]));
    let text = stdout(&run(kura_cfg(&fx.archive, &fx.home)
        .env("KURA_CONFIG", &fx.config)
        .arg("config")));
    assert!(
        text.contains(&format!(
            "internal_domains = [\"minato-shokai.co.jp\"]  # {path}"
        )),
        "{text}"
    );

    // The user's configuration directory, then the archive's file.
    let in_archive = fx.archive.join("config.toml");
    std::fs::write(&in_archive, "free_mail_domains = [\"Mail.Example.JP\"]\n").unwrap();
    let v = json_out(kura_cfg(&fx.archive, &fx.home).args(["config", "--format", "json"]));
    assert_eq!(v["found_by"], "archive");
    assert_eq!(
        v["free_mail_domains"]["extra"],
        serde_json::json!(["mail.example.jp"])
    );
    assert_eq!(
        v["free_mail_domains"]["source"],
        in_archive.to_str().unwrap()
    );
    assert_eq!(v["internal_domains"]["source"], "default");
    let user = fx.home.join("kura/config.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, FIXTURE_CONFIG).unwrap();
    let v = json_out(kura_cfg(&fx.archive, &fx.home).args(["config", "--format", "json"]));
    assert_eq!(v["found_by"], "user_config");
    assert_eq!(v["shared_address"]["value"], "support@minato-shokai.co.jp");
    assert_eq!(v["shared_address"]["source"], user.to_str().unwrap());
}

#[test]
fn malformed_configuration_is_an_error_naming_file_and_line() {
    let fx = fixture_archive();
    let bad = fx.home.join("bad.toml");
    std::fs::write(
        &bad,
        "internal_domains = [\"minato-shokai.co.jp\"]\nshared_address = support@minato\n",
    )
    .unwrap();
    for sub in [&["customers"][..], &["config"][..]] {
        let o = run(kura_with(&fx.archive, &fx.home, &bad).args(sub));
        assert_eq!(o.status.code(), Some(2), "{sub:?}");
        let e = stderr(&o);
        assert!(e.contains(&format!("{}:2:", bad.display())), "{e}");
    }
    // A misspelt key is an error too, not silently ignored.
    std::fs::write(&bad, "internal_domain = [\"minato-shokai.co.jp\"]\n").unwrap();
    let o = run(kura_with(&fx.archive, &fx.home, &bad).arg("customers"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("internal_domain"), "{}", stderr(&o));
    // A named file that does not exist.
    let o = run(kura_with(&fx.archive, &fx.home, &fx.home.join("nope.toml")).arg("customers"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.toml"), "{}", stderr(&o));
}

#[test]
fn synthetic_customer_counts_equal_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    let Some(truth) = synthetic(&mail, 2000, 11) else {
        return;
    };
    let archive = dir.path().join("archive");
    import(&archive, &[&mail]);
    let config = dir.path().join("kura.toml");
    std::fs::write(
        &config,
        format!(
            "internal_domains = [{:?}]\nshared_address = {:?}\n",
            truth["company_domain"].as_str().unwrap(),
            truth["shared_address"].as_str().unwrap()
        ),
    )
    .unwrap();
    let home = dir.path().join("xdg");
    let v = json_out(kura_with(&archive, &home, &config).args(["customers", "--format", "json"]));
    let have: BTreeMap<String, u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_string(),
                c["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = truth["customers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(d, c)| (d.clone(), c["messages"].as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(
        want.len() > 50,
        "a real spread of customers: {}",
        want.len()
    );
    assert_eq!(have, want);
    // Threads per customer: the distinct true conversations of its messages.
    let thread_of = truth["thread_of"].as_object().unwrap();
    let mut convs: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let o = run(kura(&archive).args(["search", "--format", "jsonl", "*"]));
    for line in stdout(&o).lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        let conv = thread_of[m["message_id"].as_str().unwrap()]
            .as_str()
            .unwrap()
            .to_string();
        let mut addrs = vec![m["from"]["address"].as_str().unwrap().to_string()];
        for role in ["to", "cc"] {
            for a in m[role].as_array().unwrap() {
                addrs.push(a["address"].as_str().unwrap().to_string());
            }
        }
        for a in addrs {
            if let Some((_, domain)) = a.rsplit_once('@')
                && want.contains_key(domain)
            {
                convs
                    .entry(domain.to_string())
                    .or_default()
                    .insert(conv.clone());
            }
        }
    }
    for c in v.as_array().unwrap() {
        let key = c["key"].as_str().unwrap();
        assert_eq!(
            c["threads"].as_u64().unwrap(),
            convs[key].len() as u64,
            "threads of {key}"
        );
    }
    // Each that wrote is named as its signatures name it (the company, not
    // a person), whatever the language and the legal form's place; one that
    // only received mail has no signature to read.
    let names = truth["customers"].as_object().unwrap();
    let mut signed = 0;
    for c in v.as_array().unwrap() {
        let key = c["key"].as_str().unwrap();
        if c["inbound"].as_u64().unwrap() > 0 {
            assert_eq!(c["name"], names[key]["name"], "name of {key}");
            signed += 1;
        } else {
            assert_eq!(c["organisation"], Value::Null, "{key}");
        }
    }
    assert!(signed > 50, "{signed}");
    // Staff seen in customers' threads are the truth's staff.
    let staff: Vec<&str> = truth["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for c in v.as_array().unwrap() {
        for s in c["staff"].as_array().unwrap() {
            let a = s["address"].as_str().unwrap();
            assert!(staff.contains(&a), "{a} is not staff");
        }
    }
}

/// `is:inbound`, `is:outbound` and `is:internal` select the messages of each
/// direction by the configuration: together every message, each once, the
/// directions `customers` counts; combined with words, negated, and in the
/// commands that narrow by a query. Without the company's addresses
/// configured they are an error, and queries without them never read the
/// configuration.
#[test]
fn is_terms_select_messages_by_direction() {
    let fx = fixture_archive();
    let configured =
        |config: &Path, args: &[&str]| run(kura_with(&fx.archive, &fx.home, config).args(args));
    let with_config = |args: &[&str]| configured(&fx.config, args);
    let ids_of = |query: &str| -> std::collections::BTreeSet<String> {
        let o = with_config(&["search", "--format", "ids", "--", query]);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{query}: {}",
            stderr(&o)
        );
        stdout(&o).lines().map(str::to_string).collect()
    };
    // Each message's direction, from its addresses, as the configuration
    // says: staff are minato-shokai.co.jp (and subdomains) and the shared
    // address.
    let staff = |a: &str| {
        let a = a.to_lowercase();
        a.ends_with("@minato-shokai.co.jp") || a.ends_with(".minato-shokai.co.jp")
    };
    let mut want: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
    let all = with_config(&["search", "--format", "jsonl", "*"]);
    for line in stdout(&all).lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let from = m["from"]["address"].as_str().unwrap_or("");
        let outside = ["to", "cc"].iter().any(|r| {
            m[*r].as_array().unwrap().iter().any(|a| {
                let a = a["address"].as_str().unwrap();
                a.contains('@') && !staff(a)
            })
        });
        let direction = match (staff(from), outside) {
            (false, _) => "inbound",
            (true, true) => "outbound",
            (true, false) => "internal",
        };
        want.entry(direction)
            .or_default()
            .insert(m["message_id"].as_str().unwrap().to_string());
    }
    assert!(
        want.values().all(|s| s.len() >= 3) && want.len() == 3,
        "the fixture has mail of every direction: {want:?}"
    );
    for (direction, messages) in &want {
        assert_eq!(
            &ids_of(&format!("is:{direction}")),
            messages,
            "is:{direction}"
        );
    }
    let outbound = &want["outbound"];
    let not_inbound: std::collections::BTreeSet<String> =
        outbound.union(&want["internal"]).cloned().collect();
    assert_eq!(ids_of("-is:inbound"), not_inbound);
    assert_eq!(ids_of("is:outbound OR is:internal"), not_inbound);
    // Combined with words: the staff replies that say 見積.
    let estimates = ids_of("見積");
    let replies: std::collections::BTreeSet<String> =
        estimates.intersection(outbound).cloned().collect();
    assert!(!replies.is_empty() && replies.len() < estimates.len());
    assert_eq!(ids_of("is:outbound 見積"), replies);

    // The directions `customers` counts, of the messages the term selects.
    let everyone = customers(&fx, &[]);
    let inbound_only = customers(&fx, &["is:inbound"]);
    assert!(!inbound_only.is_empty());
    for (key, c) in &inbound_only {
        assert_eq!(c["outbound"], 0, "{key}: {c}");
        assert_eq!(c["inbound"], everyone[key]["inbound"], "{key}");
    }
    let n = |v: &Value| v.as_u64().unwrap();
    assert_eq!(
        everyone.values().filter(|c| n(&c["inbound"]) > 0).count(),
        inbound_only.len()
    );

    // No company addresses configured: an error that says what to set.
    let bare = fx.home.join("bare.toml");
    std::fs::write(&bare, "free_mail_domains = [\"example-mail.jp\"]\n").unwrap();
    let o = configured(&bare, &["count", "is:outbound"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("internal_domains"), "{}", stderr(&o));
    // A configuration that cannot be read matters only to is: terms.
    let broken = fx.home.join("broken.toml");
    std::fs::write(&broken, "internal_domains = \n").unwrap();
    let o = configured(&broken, &["count", "見積"]);
    assert_eq!(
        stdout(&o).trim(),
        estimates.len().to_string(),
        "{}",
        stderr(&o)
    );
    let o = configured(&broken, &["count", "is:inbound"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("broken.toml"), "{}", stderr(&o));
    let o = with_config(&["count", "is:sent"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is:outbound"), "{}", stderr(&o));
}

/// A temporary directory with a path for an archive (`a`), an empty
/// configuration home and the fixture company's configuration file.
fn company_dir() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let home = dir.path().join("xdg");
    std::fs::create_dir_all(&home).unwrap();
    let config = company_config(dir.path(), "kura.toml", "");
    (dir, archive, home, config)
}

/// The fixture company's configuration and `extra`, written to `dir/name`.
fn company_config(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{FIXTURE_CONFIG}{extra}")).unwrap();
    path
}

/// A small shared mailbox about one customer, 明星建設 (`meisei.example`):
/// its mail signed with its company, staff reports that name it (and one
/// that names another company only), and a staff mail signed with the
/// company's own name.
fn reports_maildir(dir: &Path) -> PathBuf {
    let md = dir.join("md");
    let mails: [(&str, &str, &str, &str, &str, &str); 6] = [
        (
            "m1@meisei.example",
            "2024-04-01 10:00",
            "田中 太郎 <tanaka@meisei.example>",
            "support@minato-shokai.co.jp",
            "資材の見積依頼",
            "株式会社みなと商会\n山田様\n\nいつもお世話になっております。\n資材の見積をお願いします。\n\n\
             ----------------------------------\n明星建設株式会社\n資材部\n田中 太郎\nTEL: 03-1111-2222\n\
             ----------------------------------\n",
        ),
        (
            "m2@meisei.example",
            "2024-04-03 10:00",
            "佐藤 花子 <sato@meisei.example>",
            "yamada@minato-shokai.co.jp",
            "納期の確認",
            "山田様\n\n納期を教えてください。\n\n--\n明星建設株式会社 購買部\n佐藤 花子\n",
        ),
        (
            "r1@minato-shokai.co.jp",
            "2024-04-02 18:00",
            "小林 健 <kobayashi@minato-shokai.co.jp>",
            "support@minato-shokai.co.jp",
            "【日報】4月2日 小林",
            "■ 訪問先\n・10:00 明星建設株式会社 田中様 見積の説明\n\n以上\n\n--\n株式会社みなと商会\n小林 健\n",
        ),
        (
            "r2@minato-shokai.co.jp",
            "2024-04-04 18:00",
            "小林 健 <kobayashi@minato-shokai.co.jp>",
            "support@minato-shokai.co.jp",
            "【日報】4月4日 小林",
            "■ 電話対応\n・14:00 丸栄物流 配車担当 配送日の変更\n\n以上\n\n--\n株式会社みなと商会\n小林 健\n",
        ),
        (
            "r3@minato-shokai.co.jp",
            "2024-04-05 18:00",
            "山田 太郎 <yamada@minato-shokai.co.jp>",
            "support@minato-shokai.co.jp",
            "電話メモ",
            "明星 建設の件ではなく、明星商事様から電話がありました。\n\n--\n株式会社みなと商会\n山田 太郎\n",
        ),
        (
            "o1@minato-shokai.co.jp",
            "2024-04-03 12:00",
            "山田 太郎 <yamada@minato-shokai.co.jp>",
            "田中 太郎 <tanaka@meisei.example>",
            "Re: 資材の見積依頼",
            "明星建設株式会社\n田中様\n\n見積書を添付します。\n\n--\n株式会社みなと商会\n山田 太郎\n",
        ),
    ];
    write_maildir(&md, &mails);
    md
}

/// Mails (Message-ID, Tokyo time `YYYY-MM-DD HH:MM`, From, To, Subject,
/// plain text body) written into the Maildir `md`.
fn write_maildir(md: &Path, mails: &[(&str, &str, &str, &str, &str, &str)]) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    for (i, (id, date, from, to, subject, body)) in mails.iter().enumerate() {
        let (day, time) = date.split_once(' ').unwrap();
        let date =
            chrono::NaiveDateTime::parse_from_str(&format!("{day} {time}:00"), "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_local_timezone(chrono::FixedOffset::east_opt(9 * 3600).unwrap())
                .unwrap()
                .to_rfc2822();
        let raw = format!(
            "Message-ID: <{id}>\nDate: {date}\nFrom: {from}\nTo: {to}\nSubject: {subject}\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}"
        );
        std::fs::write(md.join("cur").join(format!("{i}.mail:2,S")), raw).unwrap();
    }
}

/// `history:` finds what `export` writes of a customer (its mail, the rest
/// of its threads, the reports naming it), and narrows as any term does.
#[test]
fn history_searches_what_the_export_holds() {
    let (dir, archive, home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    let ids = |args: &[&str]| -> Vec<String> {
        let o = run(kura_with(&archive, &home, &config)
            .args(["search", "--format", "jsonl"])
            .args(args));
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{}",
            stderr(&o)
        );
        jsonl_ids(&stdout(&o))
    };
    let history = ids(&["history:meisei.example"]);
    assert_eq!(
        history,
        [
            "m1@meisei.example",
            "m2@meisei.example",
            "o1@minato-shokai.co.jp",
            "r1@minato-shokai.co.jp"
        ]
    );
    // The same messages as the export.
    let o = run(kura_with(&archive, &home, &config).args([
        "export",
        "--customer",
        "meisei.example",
        "--format",
        "jsonl",
    ]));
    assert_eq!(jsonl_ids(&stdout(&o)), history);
    // An address or `@domain` names the same customer; words narrow it.
    assert_eq!(ids(&["history:tanaka@meisei.example"]), history);
    assert_eq!(ids(&["history:@MEISEI.example"]), history);
    assert_eq!(
        ids(&["history:meisei.example", "訪問先"]),
        ["r1@minato-shokai.co.jp"]
    );
    assert_eq!(
        ids(&["customer:meisei.example", "訪問先"]),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&["--", "訪問先", "-history:meisei.example"]),
        Vec::<String>::new()
    );
    assert_eq!(ids(&["history:nobody.example"]), Vec::<String>::new());
    // One customer, not a pattern.
    let o = run(kura_with(&archive, &home, &config).args(["search", "history:*.example"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("history: takes one customer"),
        "{}",
        stderr(&o)
    );
}

/// An address copied from a header with its `<>` names its customer to
/// `export --customer` and `customers --show` as it does to `history:` (they
/// took `<tanaka@meisei.example>` for the domain `meisei.example>`).
#[test]
fn an_address_in_angle_brackets_names_its_customer() {
    let (dir, archive, home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    let cmd = |args: &[&str]| run(kura_with(&archive, &home, &config).args(args));
    let o = cmd(&[
        "export",
        "--customer",
        "<Tanaka@Meisei.example>",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let exported = jsonl_ids(&stdout(&o));
    let o = cmd(&[
        "search",
        "--format",
        "ids",
        "history:<Tanaka@Meisei.example>",
    ]);
    let mut history: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    history.sort();
    assert_eq!(exported, history);
    assert_eq!(history.len(), 4);
    let o = cmd(&[
        "customers",
        "--show",
        " <sato@meisei.example> ",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["key"], "meisei.example");
    let o = cmd(&["customers", "--show", "<yamada@minato-shokai.co.jp>"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is staff"), "{}", stderr(&o));
}

/// A free-mail domain or a staff address names no customer (a free-mail
/// domain's addresses are each one): `customers --show`, `export` and
/// `history:` say so instead of finding nothing in silence.
#[test]
fn a_free_mail_domain_or_staff_names_no_customer() {
    let fx = fixture_archive();
    let cmd = |args: &[&str]| run(kura_with(&fx.archive, &fx.home, &fx.config).args(args));
    let free_mail = "gmail.com is a free-mail or carrier domain: each of its addresses is a customer of its own (customer:gmail.com finds all their mail)";
    let o = cmd(&["customers", "--show", "GMAIL.com"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(free_mail), "{}", stderr(&o));
    let o = cmd(&["export", "--customer", "gmail.com", "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(free_mail), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let o = cmd(&["count", "history:gmail.com"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0");
    assert!(
        stderr(&o).contains(&format!(
            "kura: history:gmail.com finds nothing: {free_mail}"
        )),
        "{}",
        stderr(&o)
    );
    let o = cmd(&["count", "history:yamada@minato-shokai.co.jp"]);
    assert!(
        stderr(&o).contains("history:yamada@minato-shokai.co.jp finds nothing: yamada@minato-shokai.co.jp is staff, not a customer"),
        "{}",
        stderr(&o)
    );
    let o = cmd(&["--quiet", "count", "history:gmail.com"]);
    assert_eq!(stderr(&o), "");
    // Named twice, the same customer is one mistake, said once.
    let o = cmd(&["count", "history:gmail.com OR -history:<@GMAIL.com>"]);
    assert_eq!(
        stderr(&o).matches("finds nothing").count(),
        1,
        "{}",
        stderr(&o)
    );
    // An address there is a customer, and its history is found.
    let o = cmd(&["count", "history:kenta.watanabe.1987@gmail.com"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o).trim(), "2");
}

/// A customer's history is gathered once for a query, however often it
/// is named there (by its key, an address or a domain) and however often
/// the query is run: `search` counts again what it found nothing of, and
/// gathering one scans the address table and searches the mentions.
#[test]
fn a_history_is_gathered_once_per_query() {
    let (dir, archive, _home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    let config = kura::config::Config::load(Some(&config), None).unwrap();
    let archive = kura::archive::Archive { root: archive };
    let searcher = kura::query::exec::Searcher::open(&archive)
        .unwrap()
        .with_classifier(kura::customers::Classifier::new(&config));
    let q = kura::query::parse(
        "(history:meisei.example OR (history:@Meisei.example 訪問先)) -history:tanaka@meisei.example",
        chrono::Utc::now(),
        false,
    )
    .unwrap();
    let order = kura::query::exec::Order::Newest;
    assert!(searcher.search(&q, order, 0, None).unwrap().is_empty());
    assert_eq!(searcher.count(&q).unwrap(), 0);
    assert_eq!(searcher.histories_gathered(), 1);
    let q = kura::query::parse("history:meisei.example", chrono::Utc::now(), false).unwrap();
    assert_eq!(searcher.count(&q).unwrap(), 4);
    assert_eq!(searcher.histories_gathered(), 1);
}

#[test]
fn reports_that_mention_a_customer_by_name_are_part_of_its_history() {
    let (dir, archive, home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    let show = |config: &Path| show_json(&archive, &home, config, "meisei.example");
    let v = show(&config);
    assert_eq!(v["name"], "明星建設株式会社", "{v}");
    assert_eq!(v["organisation"], "明星建設株式会社");
    assert_eq!(v["mentioned_as"], serde_json::json!(["明星建設"]));
    let mentions = mention_ids(&v);
    // The report naming it; not the one naming another company, not the
    // memo with 明星 and 建設 apart, not the reply sent to the customer.
    assert_eq!(mentions, ["r1@minato-shokai.co.jp"]);
    assert_eq!(v["messages"], 3, "mentions are not the customer's mail");

    // The text form says what was searched.
    let o =
        run(kura_with(&archive, &home, &config).args(["customers", "--show", "meisei.example"]));
    let text = stdout(&o);
    assert!(
        text.contains("mentioned in internal mail as 明星建設: 1 message"),
        "{text}"
    );
    assert!(text.contains("【日報】4月2日 小林"), "{text}");

    // The export takes the report in, as internal mail; --no-mentions not.
    let export = |extra: &[&str]| -> Vec<(String, String)> {
        let o = run(kura_with(&archive, &home, &config)
            .args([
                "export",
                "--customer",
                "meisei.example",
                "--format",
                "jsonl",
            ])
            .args(extra));
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["message_id"].as_str().unwrap().to_string(),
                    v["direction"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let all = export(&[]);
    assert_eq!(
        all,
        [
            ("m1@meisei.example", "inbound"),
            ("r1@minato-shokai.co.jp", "internal"),
            ("m2@meisei.example", "inbound"),
            ("o1@minato-shokai.co.jp", "outbound"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let without = export(&["--no-mentions"]);
    assert_eq!(without.len(), 3);
    assert!(!without.iter().any(|(id, _)| id.starts_with("r1")));

    // Configured names replace what the signatures say: the first is the
    // name, each is searched for.
    let named = company_config(
        dir.path(),
        "named.toml",
        "[customer_names]\n\"tanaka@meisei.example\" = [\"明星\", \"丸栄物流\"]\n",
    );
    let v = show(&named);
    assert_eq!(v["name"], "明星");
    assert_eq!(v["organisation"], "明星建設株式会社");
    assert_eq!(
        mention_ids(&v),
        [
            "r1@minato-shokai.co.jp",
            "r2@minato-shokai.co.jp",
            "r3@minato-shokai.co.jp"
        ]
    );

    // A prospect no mail was exchanged with, that a report names: its
    // history is that report, by the name configured for it.
    let prospect = |config: &Path| {
        run(kura_with(&archive, &home, config).args([
            "export",
            "--customer",
            "maruei-logi.co.jp",
            "--format",
            "jsonl",
        ]))
    };
    let o = prospect(&config);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let named = company_config(
        dir.path(),
        "prospect.toml",
        "[customer_names]\n\"maruei-logi.co.jp\" = \"丸栄物流\"\n",
    );
    let o = prospect(&named);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ids: Vec<String> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["message_id"].to_string())
        .collect();
    assert_eq!(ids, ["\"r2@minato-shokai.co.jp\""]);
    // `customers --show` has no customer to show, and says where its
    // reports are; `history:` finds them.
    let o =
        run(kura_with(&archive, &home, &named).args(["customers", "--show", "maruei-logi.co.jp"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 internal message mentions it by its customer_names: kura search history:maruei-logi.co.jp"),
        "{}",
        stderr(&o)
    );
    // The hint is not given under --quiet, nor with a query (whose
    // messages the customer may simply not be among).
    for extra in [&["--quiet"][..], &["customer:maruei-logi.co.jp"][..]] {
        let o = run(kura_with(&archive, &home, &named)
            .args(["customers", "--show", "maruei-logi.co.jp"])
            .args(extra));
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("kura: no customer maruei-logi.co.jp"),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("mention"), "{extra:?}: {}", stderr(&o));
    }
    let o = run(kura_with(&archive, &home, &named).args([
        "customers",
        "--show",
        "maruei-logi.co.jp",
        "subject:見積",
    ]));
    assert!(
        stderr(&o).contains("no customer maruei-logi.co.jp among the messages the query matches"),
        "{}",
        stderr(&o)
    );
    let o = run(kura_with(&archive, &home, &named).args([
        "search",
        "--format",
        "ids",
        "history:maruei-logi.co.jp",
    ]));
    assert_eq!(
        stdout(&o).trim(),
        "r2@minato-shokai.co.jp",
        "{}",
        stderr(&o)
    );
}

#[test]
fn customer_names_in_the_configuration_are_checked() {
    for (text, want) in [
        (
            "[customer_names]\n\"meisei.example\" = \"\"\n",
            "empty name",
        ),
        (
            "[customer_names]\n\"明星\" = \"明星建設\"\n",
            "not a domain or a mail address",
        ),
        (
            "[customer_names]\n\"meisei.example\" = 3\n",
            "bad configuration",
        ),
        (
            "[customer_names]\n\"meisei.example\" = [\"明星建設\", \"明\"]\n",
            "one character",
        ),
    ] {
        let e = kura::config::Config::parse(text, Path::new("c.toml")).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains(want) && e.contains("c.toml:"), "{text}: {e}");
    }
    let c = kura::config::Config::parse(
        "[customer_names]\n\"@Meisei.Example\" = [\"明星建設\", \"Meisei  Kensetsu\"]\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(
        c.customer_names.value,
        [(
            "meisei.example".to_string(),
            vec!["明星建設".to_string(), "Meisei Kensetsu".to_string()]
        )]
    );
    // `kura config` shows them, and says when one names staff.
    let dir = tempfile::tempdir().unwrap();
    let config = company_config(
        dir.path(),
        "c.toml",
        "[customer_names]\n\"meisei.example\" = \"明星建設\"\n\
         \"yamada@minato-shokai.co.jp\" = \"山田\"\n",
    );
    let v = json_out(
        kura_with(&dir.path().join("a"), dir.path(), &config).args(["config", "--format", "json"]),
    );
    assert_eq!(
        v["customer_names"]["value"]["meisei.example"],
        serde_json::json!(["明星建設"])
    );
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("yamada@minato-shokai.co.jp, which is staff"),
        "{notes}"
    );
}

/// `history:` finds the reports that name a customer by the organisation
/// its mail signs with: on an archive whose signatures an earlier kura did
/// not read, it says so once, as `customers` and `export` do (it found the
/// customer's mail without its reports, silently).
#[test]
fn history_says_when_the_signatures_are_not_read_yet() {
    let (dir, archive, home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch("DROP TABLE signatures").unwrap();
    drop(db);
    let cmd = |args: &[&str]| run(kura_with(&archive, &home, &config).args(args));
    let warning = "the signatures of 6 messages stored by an earlier kura are not read yet";
    for args in [
        &["count", "history:meisei.example"][..],
        &[
            "search",
            "--format",
            "ids",
            "見積",
            "history:meisei.example",
        ],
        &["customers", "history:meisei.example"],
        &[
            "export",
            "--customer",
            "meisei.example",
            "--format",
            "jsonl",
            "history:meisei.example",
        ],
    ] {
        let o = cmd(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).matches(warning).count(),
            1,
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // Its mail without the report that names it.
    assert_eq!(
        stdout(&cmd(&["count", "history:meisei.example"])).trim(),
        "3"
    );
    // Not for a query without `history:`, nor with --quiet.
    for args in [
        &["count", "見積"][..],
        &["--quiet", "count", "history:meisei.example"],
    ] {
        let o = cmd(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    reindex(&archive);
    let o = cmd(&["count", "history:meisei.example"]);
    assert_eq!((stdout(&o).trim(), stderr(&o).as_str()), ("4", ""));
}

#[test]
fn reindex_reads_the_signatures_an_earlier_version_did_not_record() {
    let (dir, archive, home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    let name = || show_json(&archive, &home, &config, "meisei.example")["name"].clone();
    assert_eq!(name(), "明星建設株式会社");
    let warning = "the signatures of 6 messages stored by an earlier kura are not read yet";
    let customers_says = || {
        let o = run(kura_with(&archive, &home, &config).args([
            "customers",
            "--show",
            "meisei.example",
        ]));
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    assert_eq!(customers_says(), "");
    // An archive written before signatures were read: no table at all.
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch("DROP TABLE signatures").unwrap();
    drop(db);
    assert_eq!(name(), "田中 太郎", "the display name, as before");
    assert!(customers_says().contains(warning), "{}", customers_says());
    // A command of this kura that writes adds the table, and remembers that
    // the messages before it were not read; a new one is.
    let more = dir.path().join("more");
    let new = more.join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::create_dir_all(more.join("cur")).unwrap();
    std::fs::write(
        new.join("1.eml"),
        "From: 田中 太郎 <tanaka@meisei.example>\nTo: support@minato-shokai.co.jp\n\
         Subject: 追加\nMessage-ID: <more@meisei.example>\nDate: Mon, 6 May 2024 10:00:00 +0900\n\n\
         追加のご連絡です。\n\n--\n明星建設株式会社\n田中 太郎\n",
    )
    .unwrap();
    import(&archive, &[&more]);
    assert!(customers_says().contains(warning), "{}", customers_says());
    let o = run(kura_with(&archive, &home, &config).args(["--quiet", "customers"]));
    assert_eq!(stderr(&o), "", "--quiet");
    let said = reindex(&archive);
    // Every mail there is signed: two by the customer, four by staff.
    assert!(
        said.contains("the signatures of 6 brought up to date"),
        "{said}"
    );
    assert_eq!(name(), "明星建設株式会社");
    assert_eq!(customers_says(), "");
    assert!(reindex(&archive).contains("messages indexed, "));
}

/// `customers --show KEY --format json` with the fixture configuration.
fn show_json(archive: &Path, home: &Path, config: &Path, key: &str) -> Value {
    json_out(kura_with(archive, home, config).args([
        "customers",
        "--show",
        key,
        "--format",
        "json",
    ]))
}

/// The Message-IDs of JSONL output (`search`, `export`), sorted.
fn jsonl_ids(out: &str) -> Vec<String> {
    let mut ids: Vec<String> = out
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["message_id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids
}

fn mention_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn mentions_find_no_company_but_the_customer() {
    let (dir, archive, home, config) = company_dir();
    let md = dir.path().join("md");
    let staff_sig = "\n\n--\n株式会社みなと商会\n小林 健\n";
    let r1 = format!(
        "■ 訪問\n・Evergreen Machinery Co., Ltd. 納期の確認\n・Global Inc. 見積提出\n\n以上{staff_sig}"
    );
    let r2 =
        format!("■ 社内\n・社内システムの更新\n・Global sales meeting の準備\n\n以上{staff_sig}");
    let reply = format!("Dear Mr Brown,\n\nThank you.{staff_sig}");
    write_maildir(
        &md,
        &[
            (
                "au@evergreen.com.au",
                "2024-04-01 10:00",
                "Jack Brown <jack@evergreen.com.au>",
                "support@minato-shokai.co.jp",
                "Order",
                "Hello,\n\nPlease ship.\n\nBest regards,\nJack Brown\nEvergreen Machinery Pty Ltd\n",
            ),
            (
                "tw@evergreen.com.tw",
                "2024-04-01 11:00",
                "Amy Lin <amy@evergreen.com.tw>",
                "support@minato-shokai.co.jp",
                "Quote",
                "Hello,\n\nPlease quote.\n\nBest regards,\nAmy Lin\nEvergreen Machinery Co., Ltd.\n",
            ),
            (
                "m@minato.example",
                "2024-04-01 12:00",
                "佐藤 <sato@minato.example>",
                "support@minato-shokai.co.jp",
                "見積",
                "お世話になっております。\n見積をお願いします。\n\n--\n株式会社みなと\n佐藤\n",
            ),
            (
                "g@global.example",
                "2024-04-01 13:00",
                "Ann Lee <ann@global.example>",
                "support@minato-shokai.co.jp",
                "Inquiry",
                "Hello,\n\nA question.\n\nBest regards,\nAnn Lee\nGlobal Inc.\n",
            ),
            (
                "s@system.example",
                "2024-04-01 14:00",
                "鈴木 <suzuki@system.example>",
                "support@minato-shokai.co.jp",
                "問い合わせ",
                "お世話になっております。\nご確認ください。\n\n--\n株式会社システム\n鈴木\n",
            ),
            (
                "o1@minato-shokai.co.jp",
                "2024-04-02 10:00",
                "小林 健 <kobayashi@minato-shokai.co.jp>",
                "Jack Brown <jack@evergreen.com.au>",
                "Re: Order",
                &reply,
            ),
            (
                "r1@minato-shokai.co.jp",
                "2024-04-02 18:00",
                "小林 健 <kobayashi@minato-shokai.co.jp>",
                "support@minato-shokai.co.jp",
                "【日報】4月2日 小林",
                &r1,
            ),
            (
                "r2@minato-shokai.co.jp",
                "2024-04-03 18:00",
                "小林 健 <kobayashi@minato-shokai.co.jp>",
                "support@minato-shokai.co.jp",
                "【日報】4月3日 小林",
                &r2,
            ),
        ],
    );
    import(&archive, &[&md]);
    let show = |key: &str| show_json(&archive, &home, &config, key);
    // Two companies of one name but for the legal form: each is searched
    // for by its whole name, and the report names only one.
    let au = show("evergreen.com.au");
    assert_eq!(au["organisation"], "Evergreen Machinery Pty Ltd", "{au}");
    assert_eq!(
        au["mentioned_as"],
        serde_json::json!(["Evergreen Machinery Pty Ltd"])
    );
    assert_eq!(mention_ids(&au), Vec::<String>::new());
    let tw = show("evergreen.com.tw");
    assert_eq!(
        tw["mentioned_as"],
        serde_json::json!(["Evergreen Machinery Co., Ltd."])
    );
    assert_eq!(mention_ids(&tw), ["r1@minato-shokai.co.jp"]);
    // A name within the company's own (株式会社みなと商会, in every staff
    // signature): no search finds mail about it alone.
    let minato = show("minato.example");
    assert_eq!(minato["organisation"], "株式会社みなと", "{minato}");
    assert_eq!(minato["mentioned_as"], serde_json::json!([]));
    assert_eq!(mention_ids(&minato), Vec::<String>::new());
    // One common word (`Global`, `システム`) is found in mail about anything:
    // the whole name is searched for.
    let global = show("global.example");
    assert_eq!(global["mentioned_as"], serde_json::json!(["Global Inc."]));
    assert_eq!(mention_ids(&global), ["r1@minato-shokai.co.jp"]);
    let system = show("system.example");
    assert_eq!(
        system["mentioned_as"],
        serde_json::json!(["株式会社システム"])
    );
    assert_eq!(mention_ids(&system), Vec::<String>::new());
    // The export takes the same mentions.
    let o = run(kura_with(&archive, &home, &config).args([
        "export",
        "--customer",
        "evergreen.com.au",
        "--format",
        "jsonl",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        jsonl_ids(&stdout(&o)),
        ["au@evergreen.com.au", "o1@minato-shokai.co.jp"]
    );
}

#[test]
fn reports_ending_with_a_customers_name_leave_it_its_organisation() {
    let (dir, archive, home, config) = company_dir();
    let md = dir.path().join("md");
    // Reports with no signature, ending with the customers visited: read
    // as signed with the customer's name, by staff, twice as often as the
    // customer signs with it.
    let report = "━━━━━━━━━━━━\n本日の訪問\n━━━━━━━━━━━━\n株式会社明星建設 見積提出\n";
    write_maildir(
        &md,
        &[
            (
                "m1@meisei.example",
                "2024-04-01 10:00",
                "田中 太郎 <tanaka@meisei.example>",
                "support@minato-shokai.co.jp",
                "見積依頼",
                "お世話になっております。\n見積をお願いします。\n\n--\n株式会社明星建設\n田中 太郎\n",
            ),
            (
                "o1@minato-shokai.co.jp",
                "2024-04-01 12:00",
                "山田 太郎 <yamada@minato-shokai.co.jp>",
                "田中 太郎 <tanaka@meisei.example>",
                "Re: 見積依頼",
                "田中様\n\n承知しました。\n\n--\n株式会社みなと商会\n山田 太郎\n",
            ),
            (
                "r1@minato-shokai.co.jp",
                "2024-04-02 18:00",
                "小林 健 <kobayashi@minato-shokai.co.jp>",
                "support@minato-shokai.co.jp",
                "日報 4月2日",
                report,
            ),
            (
                "r2@minato-shokai.co.jp",
                "2024-04-03 18:00",
                "小林 健 <kobayashi@minato-shokai.co.jp>",
                "support@minato-shokai.co.jp",
                "日報 4月3日",
                report,
            ),
        ],
    );
    import(&archive, &[&md]);
    let v = show_json(&archive, &home, &config, "meisei.example");
    assert_eq!(v["organisation"], "株式会社明星建設", "{v}");
    assert_eq!(v["name"], "株式会社明星建設");
    assert_eq!(v["mentioned_as"], serde_json::json!(["明星建設"]));
    assert_eq!(
        mention_ids(&v),
        ["r1@minato-shokai.co.jp", "r2@minato-shokai.co.jp"]
    );
}

#[test]
fn show_and_export_without_an_index_to_search_for_mentions() {
    let (dir, archive, home, config) = company_dir();
    import(&archive, &[&reports_maildir(dir.path())]);
    // Customers are counted from the store: --show works without the
    // index, as before mentions, and says the mentions were not searched.
    std::fs::remove_dir_all(archive.join("index")).unwrap();
    let cmd = |args: &[&str]| run(kura_with(&archive, &home, &config).args(args));
    let o = cmd(&["customers", "--show", "meisei.example", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("kura reindex"), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["name"], "明星建設株式会社");
    assert_eq!(v["mentioned_as"], serde_json::json!(["明星建設"]));
    assert_eq!(v["mentions"], Value::Null, "not searched: not none");
    let o = cmd(&["customers", "--show", "meisei.example", "--format", "text"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("mentioned in internal mail as 明星建設: not searched"),
        "{}",
        stdout(&o)
    );
    // An export leaves nothing out unnoticed: it fails, saying how to
    // export without the mentions, which --no-mentions does.
    let o = cmd(&[
        "export",
        "--customer",
        "meisei.example",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("--no-mentions"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let o = cmd(&[
        "export",
        "--customer",
        "meisei.example",
        "--format",
        "jsonl",
        "--no-mentions",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3);
}

#[test]
fn one_company_at_two_domains_is_mentioned_at_both() {
    let (dir, archive, home, config) = company_dir();
    let md = dir.path().join("md");
    // The same name, written with a space (a full-width one) at one domain.
    write_maildir(
        &md,
        &[
            (
                "a@meisei.example",
                "2024-04-01 10:00",
                "田中 <tanaka@meisei.example>",
                "support@minato-shokai.co.jp",
                "見積",
                "お世話になっております。\nご確認ください。\n\n--\n株式会社明星建設\n田中\n",
            ),
            (
                "b@meisei-kensetsu.example",
                "2024-04-01 11:00",
                "佐藤 <sato@meisei-kensetsu.example>",
                "support@minato-shokai.co.jp",
                "納期",
                "お世話になっております。\nご確認ください。\n\n--\n株式会社　明星建設\n佐藤\n",
            ),
            (
                "r1@minato-shokai.co.jp",
                "2024-04-02 18:00",
                "小林 健 <kobayashi@minato-shokai.co.jp>",
                "support@minato-shokai.co.jp",
                "日報",
                "■ 訪問\n・明星建設 見積の説明\n\n以上\n\n--\n株式会社みなと商会\n小林 健\n",
            ),
        ],
    );
    import(&archive, &[&md]);
    for key in ["meisei.example", "meisei-kensetsu.example"] {
        let v = show_json(&archive, &home, &config, key);
        assert_eq!(v["mentioned_as"], serde_json::json!(["明星建設"]), "{v}");
        assert_eq!(mention_ids(&v), ["r1@minato-shokai.co.jp"], "{key}");
    }
}

#[test]
fn without_the_company_configured_there_is_no_internal_mail_to_mention_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let home = dir.path().join("xdg");
    std::fs::create_dir_all(&home).unwrap();
    import(&archive, &[&reports_maildir(dir.path())]);
    // No configuration: every message is inbound, none internal.
    let o = run(kura_cfg(&archive, &home).args([
        "customers",
        "--show",
        "meisei.example",
        "--format",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["mentions"], serde_json::json!([]), "{v}");
    // The export of its history works as it did before mentions.
    let o = run(kura_cfg(&archive, &home).args([
        "export",
        "--customer",
        "meisei.example",
        "--format",
        "jsonl",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
}

/// A web form's mail comes from the company's own server to the shared
/// address, with the customer who filled the form in as Reply-To: it is
/// that customer's inbound mail, everywhere directions count.
#[test]
fn a_web_forms_mail_is_inbound_from_its_reply_to() {
    let (dir, archive, home, config) = company_dir();
    let md = empty_maildir(dir.path().join("mail"));
    let form = "Message-ID: <w1@form.minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 10:00:00 +0900\n\
        From: =?UTF-8?B?V2Vi44OV44Kp44O844Og?= <form@minato-shokai.co.jp>\n\
        To: support@minato-shokai.co.jp\n\
        Reply-To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <yamada@sakura-denki.co.jp>\n\
        Subject: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR44Od44Oz44OX44Gu6KaL56mN?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
        お名前: 山田 太郎\n会社名: さくら電機\nお問い合わせ内容: ポンプの見積をお願いします。\n";
    let note = "Message-ID: <n1@minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 11:00:00 +0900\n\
        From: kobayashi@minato-shokai.co.jp\n\
        To: support@minato-shokai.co.jp\n\
        Reply-To: support@minato-shokai.co.jp\n\
        Subject: =?UTF-8?B?6KaL56mN44Gu5L2c5oiQ?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n見積を作成中です。\n";
    let reply = "Message-ID: <r1@minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 13:00:00 +0900\n\
        From: sato@minato-shokai.co.jp\n\
        To: yamada@sakura-denki.co.jp\n\
        Cc: support@minato-shokai.co.jp\n\
        In-Reply-To: <w1@form.minato-shokai.co.jp>\n\
        Subject: Re: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR44Od44Oz44OX44Gu6KaL56mN?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n見積書をお送りします。\n";
    std::fs::write(md.join("cur/1.form:2,S"), form).unwrap();
    std::fs::write(md.join("cur/2.note:2,S"), note).unwrap();
    import(&archive, &[&md]);
    let kura = || kura_with(&archive, &home, &config);
    // Unanswered, it waits, for the customer who filled the form in.
    let o = run(kura().args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["customer"], "sakura-denki.co.jp", "{v}");
    std::fs::write(md.join("cur/3.reply:2,S"), reply).unwrap();
    import(&archive, &[&md]);
    let o = run(kura().args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json_out(kura().args(["report", "--format", "json"]));
    assert_eq!(
        (&v["total"]["inbound"], &v["total"]["answered"]),
        (&1.into(), &1.into()),
        "{v}"
    );
    // A customer with one message in and one out; the form's From is no staff.
    let c = json_out(kura().args([
        "customers",
        "--show",
        "sakura-denki.co.jp",
        "--format",
        "json",
    ]));
    assert_eq!(
        (&c["inbound"], &c["outbound"]),
        (&1.into(), &1.into()),
        "{c}"
    );
    assert!(!c.to_string().contains("form@"), "{c}");
    assert!(c.to_string().contains("山田 太郎"), "{c}");
    // is: terms agree; the note with the shared address as Reply-To stays internal.
    let ids = |query: &str| {
        let o = run(kura().args(["search", "--format", "ids", query]));
        stdout(&o).lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(ids("is:inbound"), ["w1@form.minato-shokai.co.jp"]);
    assert_eq!(ids("is:internal"), ["n1@minato-shokai.co.jp"]);
    assert_eq!(ids("is:outbound"), ["r1@minato-shokai.co.jp"]);
    assert_eq!(ids("history:sakura-denki.co.jp").len(), 2);
    // The export of its history says so too.
    let o = run(kura().args([
        "export",
        "--customer",
        "sakura-denki.co.jp",
        "--format",
        "jsonl",
    ]));
    let records: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let directions: Vec<&str> = records
        .iter()
        .map(|r| r["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["inbound", "outbound"], "{}", stdout(&o));
    // Its JSON names the customer the form's mail is for, masked when asked.
    assert_eq!(
        records[0]["reply_to"][0]["address"],
        "yamada@sakura-denki.co.jp",
        "{}",
        stdout(&o)
    );
    assert_eq!(records[1]["reply_to"], serde_json::json!([]));
    let o = run(kura().args([
        "export",
        "--customer",
        "sakura-denki.co.jp",
        "--format",
        "jsonl",
        "--redact",
    ]));
    assert!(!stdout(&o).contains("yamada@"), "{}", stdout(&o));
}

/// A form service outside sends from its own address: once listed in
/// `form_senders`, its mail is the Reply-To's, and the service is no
/// customer.
#[test]
fn a_form_service_in_form_senders_sends_for_its_reply_to() {
    let (dir, archive, home, plain) = company_dir();
    let md = empty_maildir(dir.path().join("mail"));
    let form = "Message-ID: <f1@formzu.net>\n\
        Date: Tue, 07 May 2024 10:00:00 +0900\n\
        From: formzu <noreply@formzu.net>\n\
        To: support@minato-shokai.co.jp\n\
        Reply-To: kenta@gmail.com\n\
        Subject: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR44Kr44K/44Ot44Kw?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
        お名前: 渡辺健太\nカタログを送ってください。\n";
    std::fs::write(md.join("cur/1.form:2,S"), form).unwrap();
    import(&archive, &[&md]);
    let listed = company_config(
        dir.path(),
        "forms.toml",
        "form_senders = [\"formzu.net\"]\n",
    );
    let waiting = |config: &Path| {
        let o = run(kura_with(&archive, &home, config).args(["pending", "--format", "json"]));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        v[0]["customer"].as_str().unwrap().to_string()
    };
    // Not listed: the service is taken for the customer.
    assert_eq!(waiting(&plain), "formzu.net");
    assert_eq!(waiting(&listed), "kenta@gmail.com");
    let all = json_out(kura_with(&archive, &home, &listed).args(["customers", "--format", "json"]));
    let keys: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["kenta@gmail.com"], "{all}");
    assert_eq!(all[0]["inbound"], 1, "{all}");
    let o = run(kura_with(&archive, &home, &listed).args(["customers", "--show", "formzu.net"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("web form service"), "{}", stderr(&o));
    let o = run(kura_with(&archive, &home, &listed).args(["config", "--format", "json"]));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["form_senders"]["value"][0], "formzu.net", "{v}");
}

/// The ids `search --format ids QUERY` prints, newest first.
fn direction_ids(kura: &dyn Fn() -> Command, query: &str) -> Vec<String> {
    let o = run(kura().args(["search", "--format", "ids", query]));
    stdout(&o).lines().map(str::to_string).collect()
}

/// A form service listed in `form_senders` is outside the company but no
/// customer: staff writing to it write outside (outbound), and staff mail
/// with it as Reply-To is sent on behalf of no customer (internal). The
/// views that read the scan and those that read the index and the headers
/// agree.
#[test]
fn a_form_services_address_is_outside_but_sends_for_no_one() {
    let (dir, archive, home, _) = company_dir();
    let md = empty_maildir(dir.path().join("mail"));
    let notice = "Message-ID: <s1@form.run>\n\
        Date: Tue, 07 May 2024 10:00:00 +0900\n\
        From: formrun <noreply@form.run>\n\
        To: support@minato-shokai.co.jp\n\
        Subject: =?UTF-8?B?44OV44Kp44O844Og6Kit5a6a44Gu5aSJ5pu0?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n設定が変更されました。\n";
    let answer = "Message-ID: <s2@minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 11:00:00 +0900\n\
        From: sato@minato-shokai.co.jp\n\
        To: noreply@form.run\n\
        In-Reply-To: <s1@form.run>\n\
        Subject: Re: =?UTF-8?B?44OV44Kp44O844Og6Kit5a6a44Gu5aSJ5pu0?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n確認しました。\n";
    let note = "Message-ID: <s3@minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 12:00:00 +0900\n\
        From: sato@minato-shokai.co.jp\n\
        To: support@minato-shokai.co.jp\n\
        Reply-To: noreply@form.run\n\
        Subject: =?UTF-8?B?6Lui6YCB6Kit5a6a44Gu44OG44K544OI?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n転送設定のテストです。\n";
    std::fs::write(md.join("cur/1.notice:2,S"), notice).unwrap();
    std::fs::write(md.join("cur/2.answer:2,S"), answer).unwrap();
    std::fs::write(md.join("cur/3.note:2,S"), note).unwrap();
    import(&archive, &[&md]);
    let config = company_config(dir.path(), "forms.toml", "form_senders = [\"form.run\"]\n");
    let kura = || kura_with(&archive, &home, &config);
    assert_eq!(direction_ids(&kura, "is:inbound"), ["s1@form.run"]);
    assert_eq!(
        direction_ids(&kura, "is:outbound"),
        ["s2@minato-shokai.co.jp"]
    );
    assert_eq!(
        direction_ids(&kura, "is:internal"),
        ["s3@minato-shokai.co.jp"]
    );
    // The service's notice had its answer: nothing waits, nothing is unanswered.
    let o = run(kura().args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json_out(kura().args(["report", "--format", "json"]));
    assert_eq!(
        (&v["total"]["inbound"], &v["total"]["answered"]),
        (&1.into(), &1.into()),
        "{v}"
    );
}
/// The company's own form address listed in `form_senders` sends for its
/// Reply-To also when the form sends that customer a copy (Cc): the
/// inquiry is the customer's inbound mail in every view, not a staff
/// message to the customer.
#[test]
fn a_listed_form_that_copies_the_customer_is_the_customers_mail() {
    let (dir, archive, home, _) = company_dir();
    let md = empty_maildir(dir.path().join("mail"));
    let form = "Message-ID: <c1@form.minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 10:00:00 +0900\n\
        From: =?UTF-8?B?V2Vi44OV44Kp44O844Og?= <form@minato-shokai.co.jp>\n\
        To: support@minato-shokai.co.jp\n\
        Cc: nishida@aoba-shoji.co.jp\n\
        Reply-To: nishida@aoba-shoji.co.jp\n\
        Subject: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR5Y+X5LuY?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
        お名前: 西田 真一\n会社名: 青葉商事\nお問い合わせ内容: 納期を教えてください。\n";
    std::fs::write(md.join("cur/1.form:2,S"), form).unwrap();
    import(&archive, &[&md]);
    let config = company_config(
        dir.path(),
        "forms.toml",
        "form_senders = [\"form@minato-shokai.co.jp\"]\n",
    );
    let kura = || kura_with(&archive, &home, &config);
    assert_eq!(
        direction_ids(&kura, "is:inbound"),
        ["c1@form.minato-shokai.co.jp"]
    );
    assert!(direction_ids(&kura, "is:outbound").is_empty());
    let c = show_json(&archive, &home, &config, "aoba-shoji.co.jp");
    assert_eq!(
        (&c["inbound"], &c["outbound"]),
        (&1.into(), &0.into()),
        "{c}"
    );
    let o = run(kura().args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["customer"], "aoba-shoji.co.jp", "{v}");
    let o = run(kura().args([
        "export",
        "--customer",
        "aoba-shoji.co.jp",
        "--format",
        "jsonl",
    ]));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["direction"], "inbound", "{v}");
}

/// The export's page lists the staff seen in the history: a web form's own
/// From is none of them, nor is the shared address, as `customers` says.
#[test]
fn an_exports_staff_leave_out_a_forms_from() {
    let (dir, archive, home, config) = company_dir();
    let md = empty_maildir(dir.path().join("mail"));
    let form = "Message-ID: <h1@form.minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 10:00:00 +0900\n\
        From: =?UTF-8?B?V2Vi44OV44Kp44O844Og?= <form@minato-shokai.co.jp>\n\
        To: support@minato-shokai.co.jp\n\
        Reply-To: yamada@sakura-denki.co.jp\n\
        Subject: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR44Od44Oz44OX44Gu6KaL56mN?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
        お名前: 山田 太郎\nポンプの見積をお願いします。\n";
    let reply = "Message-ID: <h2@minato-shokai.co.jp>\n\
        Date: Tue, 07 May 2024 13:00:00 +0900\n\
        From: sato@minato-shokai.co.jp\n\
        To: yamada@sakura-denki.co.jp\n\
        In-Reply-To: <h1@form.minato-shokai.co.jp>\n\
        Subject: Re: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR44Od44Oz44OX44Gu6KaL56mN?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n見積書をお送りします。\n";
    std::fs::write(md.join("cur/1.form:2,S"), form).unwrap();
    std::fs::write(md.join("cur/2.reply:2,S"), reply).unwrap();
    import(&archive, &[&md]);
    let c = show_json(&archive, &home, &config, "sakura-denki.co.jp");
    assert_eq!(c["staff"][0]["address"], "sato@minato-shokai.co.jp", "{c}");
    let o = run(kura_with(&archive, &home, &config).args([
        "export",
        "--customer",
        "sakura-denki.co.jp",
        "--format",
        "html",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = stdout(&o);
    let staff = page
        .split("<ul class=\"staff\">")
        .nth(1)
        .and_then(|s| s.split("</ul>").next())
        .unwrap_or_default();
    assert!(staff.contains("sato@minato-shokai.co.jp"), "{staff}");
    assert!(!staff.contains("form@"), "{staff}");
    // Nor the shared address the form wrote to, as customers has it.
    assert!(!staff.contains("support@"), "{staff}");
}

/// A customer's own Reply-To names no one: its display name is neither a
/// name of the customer nor one of its people; a form's Reply-To is.
#[test]
fn only_the_reply_to_a_mail_is_sent_for_names_the_customer() {
    let (dir, archive, home, config) = company_dir();
    let md = empty_maildir(dir.path().join("mail"));
    for i in 1..=2 {
        let mail = format!(
            "Message-ID: <k{i}@kyowa-shoji.co.jp>\n\
             Date: Tue, 0{i} May 2024 10:00:00 +0900\n\
             From: =?UTF-8?B?5bCP5p6XIOiqoA==?= <kobayashi@kyowa-shoji.co.jp>\n\
             To: support@minato-shokai.co.jp\n\
             Reply-To: =?UTF-8?B?5Y2U5ZKM5ZWG5LqLIOWWtualremDqA==?= <kobayashi@kyowa-shoji.co.jp>\n\
             Subject: =?UTF-8?B?6KaL56mN44Gu5L6d6aC8?=\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n見積をお願いします。\n"
        );
        std::fs::write(md.join(format!("cur/{i}.k:2,S")), mail).unwrap();
    }
    let form = "Message-ID: <k3@form.minato-shokai.co.jp>\n\
        Date: Fri, 10 May 2024 10:00:00 +0900\n\
        From: =?UTF-8?B?V2Vi44OV44Kp44O844Og?= <form@minato-shokai.co.jp>\n\
        To: support@minato-shokai.co.jp\n\
        Reply-To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <yamada@sakura-denki.co.jp>\n\
        Subject: =?UTF-8?B?44CQ44GK5ZWP44GE5ZCI44KP44Gb44CR?=\n\
        MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\nお名前: 山田 太郎\n";
    std::fs::write(md.join("cur/3.form:2,S"), form).unwrap();
    import(&archive, &[&md]);
    let c = show_json(&archive, &home, &config, "kyowa-shoji.co.jp");
    assert_eq!(c["name"], "小林 誠", "{c}");
    assert_eq!(c["people"].as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!(c["people"][0]["count"], 2, "{c}");
    let c = show_json(&archive, &home, &config, "sakura-denki.co.jp");
    assert_eq!(c["name"], "山田 太郎", "{c}");
    assert_eq!(c["people"][0]["count"], 1, "{c}");
}
