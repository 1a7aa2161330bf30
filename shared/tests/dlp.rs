//! Secrets in URLs (precedence step 4): a table of credentials each detector must find in the path, query
//! or fragment (as written and percent-encoded), a table of look-alikes it must not flag, and what the
//! record keeps: the detector's name, never the credential.

use egress_core::{authorize_egress, scan_for_secrets, CompiledPolicy, Detector, Identity, RequestRecord, Target};
use ulid::Ulid;

fn scan(url: &str) -> Option<Detector> {
    let (_, tail) = Target::parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    scan_for_secrets(&tail)
}

const AWS: &str = "AKIAIOSFODNN7EXAMPLE";
const GITHUB: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

#[test]
fn finds_each_credential_format() {
    let anthropic = format!("sk-ant-api03-{}", "a1B2c3D4e5".repeat(9));
    let openai_proj = format!("sk-proj-{}", "Zx9_Yw8-Vu".repeat(5));
    let openai_legacy = format!("sk-{}T3BlbkFJ{}", "a".repeat(20), "b".repeat(20));
    let github_pat = format!("github_pat_{}", "A1b2_C3d4e".repeat(8) + "xy");
    let cases: Vec<(String, Detector)> = vec![
        (format!("https://api.example.com/keys/{AWS}"), Detector::AwsAccessKeyId),
        (
            format!("https://api.example.com/?key={AWS}&x=1"),
            Detector::AwsAccessKeyId,
        ),
        (format!("https://api.example.com/x?t={GITHUB}"), Detector::GithubToken),
        (format!("https://api.example.com/x#{github_pat}"), Detector::GithubToken),
        (
            "https://gitlab.example.com/api?private=glpat-AbCdEf0123456789_xyz".into(),
            Detector::GitlabToken,
        ),
        (
            "https://api.example.com/x?t=xoxb-123456789012-1234567890123-AbCdEfGhIjKl".into(),
            Detector::SlackToken,
        ),
        (
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".into(),
            Detector::SlackWebhook,
        ),
        (
            "https://api.example.com/charge?k=sk_live_4eC39HqLyjWDarjtT1zdp7dc".into(),
            Detector::StripeKey,
        ),
        (format!("https://api.example.com/{anthropic}"), Detector::AnthropicKey),
        (
            format!("https://api.example.com/v1?key={openai_proj}"),
            Detector::OpenaiKey,
        ),
        (
            format!("https://api.example.com/v1?key={openai_legacy}"),
            Detector::OpenaiKey,
        ),
        (
            "https://maps.example.com/api?key=AIzaSyA1234567890abcdefghijklmnopqrstuv".into(),
            Detector::GoogleApiKey,
        ),
        (format!("https://api.example.com/cb#id_token={JWT}"), Detector::Jwt),
        (
            "https://paste.example.com/?k=-----BEGIN%20RSA%20PRIVATE%20KEY-----MIIE".into(),
            Detector::PrivateKey,
        ),
        (
            "https://paste.example.com/?k=-----BEGIN+OPENSSH+PRIVATE+KEY-----".into(),
            Detector::PrivateKey,
        ),
        (
            "https://db.example.com/login?user=a&password=hunter2hunter2".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://app.example.com/cb#access_token=abcdefgh12345678&x=1".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://api.example.com/x?API_KEY=0123456789abcdef".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://api.example.com/x;client_secret=0123456789abcdef".into(),
            Detector::CredentialParameter,
        ),
        // Percent-encoding hides nothing: the decoded text is scanned too.
        (
            "https://api.example.com/x?t=%67hp_0123456789abcdefghijABCDEFGHIJ012345".into(),
            Detector::GithubToken,
        ),
        (
            "https://api.example.com/%41KIAIOSFODNN7EXAMPLE/x".into(),
            Detector::AwsAccessKeyId,
        ),
        // Found next to `_`, behind `;` parameters and dot segments, and double-encoded.
        (format!("https://api.example.com/creds_{AWS}"), Detector::AwsAccessKeyId),
        (format!("https://api.example.com/key_{GITHUB}"), Detector::GithubToken),
        (
            "https://api.example.com/x;%67hp_0123456789abcdefghijABCDEFGHIJ012345".into(),
            Detector::GithubToken,
        ),
        (
            "https://api.example.com/%67hp_0123456789abcdefghijABCDEFGHIJ012345/..".into(),
            Detector::GithubToken,
        ),
        (
            "https://api.example.com/%2567hp_0123456789abcdefghijABCDEFGHIJ012345".into(),
            Detector::GithubToken,
        ),
        // More formats.
        (
            "https://api.example.com/?t=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH".into(),
            Detector::HuggingfaceToken,
        ),
        (
            format!("https://openrouter.ai/x?k=sk-or-v1-{}", "0a".repeat(32)),
            Detector::OpenrouterKey,
        ),
        (
            format!(
                "https://api.example.com/?k=sk-None-{}T3BlbkFJ{}",
                "A".repeat(20),
                "B".repeat(20)
            ),
            Detector::OpenaiKey,
        ),
        (
            "https://www.google.com/search?q=ya29.a0AfH6SMBxyzxyzxyzxyzxyzxyz".into(),
            Detector::GoogleOauthToken,
        ),
        (
            "https://api.example.com/?cs=GOCSPX-abcdefghijklmnopqrstuvwxyz12".into(),
            Detector::GoogleOauthToken,
        ),
        (
            "https://api.example.com/?t=xoxe-1-AbCdEfGhIjKlMnOp".into(),
            Detector::SlackToken,
        ),
        (
            "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ/sendMessage".into(),
            Detector::TelegramBotToken,
        ),
        (
            format!(
                "https://discord.com/api/webhooks/123456789012345678/{}",
                "Ab1_".repeat(17)
            ),
            Detector::DiscordWebhook,
        ),
        (
            "https://acct.blob.core.windows.net/c/b?sv=2021&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%3D".into(),
            Detector::AzureSasSignature,
        ),
        (
            "https://api.example.com/fetch?url=https%3A%2F%2Fadmin%3Apw1234%40internal.example.com%2F".into(),
            Detector::UrlCredentials,
        ),
        (
            "https://api.example.com/x?aws_secret_access_key=wJalrXUtnFEMI/K7MDENG".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://api.example.com/x?user[password]=Hunter2Hunter2".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://api.example.com/x?user%5Bpassword%5D=Hunter2Hunter2".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://api.example.com/x?x-api-key=0123456789abcdef".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://api.example.com/x?password=ab;cdefghijkl".into(),
            Detector::CredentialParameter,
        ),
        (
            "https://db.example.com/login?password=changemeplease".into(),
            Detector::CredentialParameter,
        ),
    ];
    for (url, want) in cases {
        assert_eq!(scan(&url), Some(want), "{url}");
    }
}

#[test]
fn leaves_look_alikes_alone() {
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg";
    for url in [
        "https://api.example.com/items/123e4567-e89b-12d3-a456-426614174000".to_owned(),
        "https://github.com/rust-lang/rust/commit/9fceb02d0ae598e95dc970b74767f19372d61af8".into(),
        format!("https://cdn.example.com/blobs/sha256:{}", "ab12".repeat(16)),
        format!("https://img.example.com/render?data={png}"),
        format!("https://img.example.com/render#{png}"),
        "https://api.example.com/list?page_token=abcdefghijklmnopqrstuvwxyz012345".into(),
        "https://api.example.com/list?next_token=abcdefghijklmnopqrstuvwxyz012345".into(),
        "https://js.example.com/?key=pk_live_51HqLyjWDarjtT1zdp7dcabcdefgh".into(),
        "https://db.example.com/login?password=short".into(),
        "https://api.example.com/x?token=".into(),
        "https://search.example.com/?q=AKIA+keys".into(),
        "https://pypi.org/project/scikit-learn/".into(),
        "https://api.example.com/v1/tokens/list?format=json".into(),
        "https://docs.example.com/guides/password-reset".into(),
        "https://api.example.com/users/eyJ".into(),
        "https://www.etsy.com/listing/1/xoxo-valentines-day-card".into(),
        "https://app.example.com/fetch?credentials=same-origin".into(),
        "https://blog.example.com/?pass=published".into(),
        "https://ide.example.com/?pwd=/home/user/project".into(),
        "https://api.example.com/?password_reset=true&token_type=bearer".into(),
        "https://api.example.com/task-live-dashboard".into(),
    ] {
        assert_eq!(scan(&url), None, "{url}");
    }
}

const POLICY: &str = r#"
zones:
  strict:
    members: ["*"]
    default: allow
  ask:
    members: ["*"]
    default: allow
    dlp: {secrets_in_url: require_approval}
    rules:
      - {id: deny-paste, effect: deny, hosts: [paste.example.com]}
  watch:
    members: ["*"]
    default: allow
    mode: shadow
  open:
    members: ["*"]
    default: allow
    dlp: {secrets_in_url: off}
"#;

#[test]
fn step_four_in_each_setting_and_the_record_keeps_only_the_detector() {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    let url = format!("https://api.example.com/v1/{GITHUB}/repos?token={GITHUB}#frag");
    let (target, tail) = Target::parse_url(&url).unwrap();
    let decide = |zone: &str| authorize_egress(&policy, "alice", zone, (&target, &tail));

    let d = decide("strict");
    assert_eq!(
        (d.effective().as_str(), d.reason().as_str()),
        ("deny", "dlp_secret_in_url")
    );
    assert_eq!(d.dlp(), Some(Detector::GithubToken));
    let d = decide("ask");
    assert_eq!(
        (d.effective().as_str(), d.reason().as_str()),
        ("require_approval", "dlp_secret_in_url")
    );
    let d = decide("watch");
    assert_eq!(
        (d.effective().as_str(), d.policy_decision().as_str()),
        ("allow", "deny")
    );
    assert_eq!(d.reason().as_str(), "dlp_secret_in_url");
    let d = decide("open");
    assert_eq!((d.reason().as_str(), d.dlp()), ("default_allow", None));
    // Sent for approval, but a deny rule still wins: no grant may ever override it.
    let (paste, paste_tail) = Target::parse_url(&format!("https://paste.example.com/?token={GITHUB}")).unwrap();
    let d = authorize_egress(&policy, "alice", "ask", (&paste, &paste_tail));
    assert_eq!((d.effective().as_str(), d.reason().as_str()), ("deny", "rule_deny"));
    assert_eq!(d.dlp(), Some(Detector::GithubToken));
    // A domain input has no tail to scan.
    let bare = Target::from_domain("api.example.com").unwrap();
    assert_eq!(
        authorize_egress(&policy, "alice", "strict", &bare).reason().as_str(),
        "default_allow"
    );

    // The record: the detector's name; no credential in the path, and no query or fragment at all.
    let record = RequestRecord::new(
        Ulid::new(),
        "alice".into(),
        Identity::dev(),
        "strict".into(),
        target.clone(),
        None,
        &decide("strict"),
    );
    let json = serde_json::to_string(&record).unwrap();
    assert!(
        !json.contains(GITHUB) && !json.contains("frag") && !json.contains("token="),
        "{json}"
    );
    assert_eq!(record.target.path(), "/v1/[REDACTED]/repos");
    assert!(json.contains(r#""dlp":"github_token""#));
    for event in egress_core::events_for(&record) {
        let detail = serde_json::to_string(&event.detail).unwrap();
        assert!(!detail.contains(GITHUB), "{detail}");
    }
    // Whatever step decides, a credential in the path is never recorded: here zone membership denies first.
    let record = RequestRecord::new(
        Ulid::new(),
        "alice".into(),
        Identity::dev(),
        "nowhere".into(),
        target.clone(),
        None,
        &authorize_egress(&policy, "alice", "nowhere", (&target, &tail)),
    );
    assert_eq!(record.reason.as_str(), "zone_not_permitted");
    assert_eq!(record.target.path(), "/v1/[REDACTED]/repos");
    // The separator before a credential parameter stays.
    let (files, _) = Target::parse_url("https://api.example.com/files/token=Abcdefgh12345678").unwrap();
    let d = authorize_egress(&policy, "alice", "open", &files);
    let record = RequestRecord::new(Ulid::new(), "a".into(), Identity::dev(), "open".into(), files, None, &d);
    assert_eq!(record.target.path(), "/files/[REDACTED]");
    // Hidden by percent-encoding in the path: the whole path goes.
    let (hidden, hidden_tail) = Target::parse_url("https://api.example.com/k/%41KIAIOSFODNN7EXAMPLE").unwrap();
    let d = authorize_egress(&policy, "alice", "strict", (&hidden, &hidden_tail));
    let record = RequestRecord::new(
        Ulid::new(),
        "a".into(),
        Identity::dev(),
        "strict".into(),
        hidden,
        None,
        &d,
    );
    assert_eq!(record.target.path(), "/[REDACTED]");
}
