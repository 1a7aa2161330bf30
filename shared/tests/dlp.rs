//! Secrets in URLs (precedence step 4): a table of credentials each detector must find in the path, query
//! or fragment (as written and percent-encoded), a table of look-alikes it must not flag, and what the
//! record keeps: the detector's name, never the credential.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

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

// Security round 3, class 6: credential parameters by name class, and credentials hidden by encodings.

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn b64url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn finds_credential_parameters_by_name_class() {
    let p = Detector::CredentialParameter;
    let cases: Vec<(String, Detector)> = vec![
        // Compound names: snake, camel, Pascal and kebab case, `x-` headers as parameters.
        ("https://api.example.com/x?secret_access_key=wJalrXUtnFEMIK7MDENG".into(), p),
        ("https://api.example.com/x?SecretAccessKey=wJalrXUtnFEMIK7MDENG".into(), p),
        ("https://db.example.com/x?db_password=Tr0ub4dor3".into(), p),
        ("https://db.example.com/x?db-password=Tr0ub4dor3".into(), p),
        ("https://db.example.com/x?user_password=letmein99".into(), p),
        ("https://api.example.com/x?oauth_token=abcdef1234567890".into(), p),
        ("https://api.example.com/x?consumer_secret=q9W8e7R6t5Y4".into(), p),
        ("https://api.example.com/x?apiSecret=q9W8e7R6t5Y4".into(), p),
        ("https://api.example.com/x?client-secret=q9W8e7R6t5Y4".into(), p),
        ("https://api.example.com/x?X-Api-Key=0123456789abcdef".into(), p),
        ("https://api.example.com/x?privateKey=MIIEvQIBADANBgkq".into(), p),
        ("https://api.example.com/x?hub.verify_token=Abc123xyz789".into(), p),
        // Strong names: short and lowercase passwords too.
        ("https://db.example.com/login?password=Tr0ub4!".into(), p),
        ("https://db.example.com/login?password=dragonfly".into(), p),
        ("https://db.example.com/login?PASSWORD=qwerty".into(), p),
        ("https://db.example.com/login?newPassword=Ab3!".into(), p),
        ("https://db.example.com/login?passphrase=correct+horse+battery+staple".into(), p),
        ("https://db.example.com/login?user.password=dragonfly".into(), p),
        ("https://db.example.com/login?user%5Bpassword%5D=dragonfly".into(), p),
        // Every position: fragment, `;param` in a segment, a path segment.
        ("https://db.example.com/login#password=Tr0ub4!".into(), p),
        ("https://db.example.com/login;password=Tr0ub4!/next".into(), p),
        ("https://api.example.com/api/x-auth-token=abcd1234efgh".into(), p),
        // Authorization schemes.
        (
            "https://api.example.com/x?authorization=Basic%20dXNlcjpwYXNzd29yZA%3D%3D".into(),
            p,
        ),
        ("https://api.example.com/x?authorization=Basic+dXNlcjpwYXNzd29yZA==".into(), p),
        ("https://api.example.com/x?Authorization=Bearer%20abc.def.ghijkl".into(), p),
        // Firebase `auth`.
        ("https://proj.firebaseio.com/users.json?auth=Q29uZmlkZW50aWFs".into(), p),
        // Session ids.
        (
            "https://app.example.com/shop;jsessionid=0123456789ABCDEF0123456789ABCDEF".into(),
            p,
        ),
        (
            "https://app.example.com/shop;JSESSIONID=0123456789abcdef0123456789abcdef?x=1".into(),
            p,
        ),
        ("https://app.example.com/index.php?PHPSESSID=el4ukv0kqbvoirg7nkp4dncpk3".into(), p),
        (
            "https://app.example.com/default.asp?ASPSESSIONIDQQGGGNCG=MBLNDLMCLGHPOHFJHDEHHBAJ".into(),
            p,
        ),
        ("https://app.example.com/?session_id=9f86d081884c7d659a2feaa0c55ad015".into(), p),
        ("https://app.example.com/?sessionId=9f86d081884c7d659a2feaa0c55ad015".into(), p),
        ("https://app.example.com/#sid=9f86d081884c7d659a2feaa0".into(), p),
        // JSON variables (GraphQL GET), encoded or not.
        (
            "https://api.example.com/graphql?query=mutation%7Blogin%7D&variables=%7B%22password%22%3A%22hunter2x%22%7D"
                .into(),
            p,
        ),
        (
            r#"https://api.example.com/graphql?query=q&variables={"password":"hunter2x"}"#.into(),
            p,
        ),
        (
            "https://api.example.com/graphql?variables=%7B%22input%22%3A%20%7B%22dbPassword%22%3A%20%22s3cr3t!%22%7D%7D"
                .into(),
            p,
        ),
        (
            "https://api.example.com/q?v=%7B%22access_token%22%3A%22abcd1234efgh5678%22%7D".into(),
            p,
        ),
        // Signed URLs: GCS V4, AWS SigV4 presign, the legacy forms.
        (
            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=svc%40proj.iam.gserviceaccount.com%2F20240101%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20240101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=247a2aa45f169edf4d187d54e7cc46e4731b1e62".into(),
            p,
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Signature=247a2aa45f169edf4d187d54e7cc46e4".into(),
            p,
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Credential=svc%40proj.iam.gserviceaccount.com%2F20240101".into(),
            p,
        ),
        (
            format!("https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AWS}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            Detector::AwsAccessKeyId,
        ),
        (
            "https://b.s3.amazonaws.com/o?X-Amz-Date=20130524T000000Z&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330d".into(),
            p,
        ),
        (
            "https://storage.googleapis.com/b/o?GoogleAccessId=svc%40proj.iam.gserviceaccount.com&Expires=1700000000&Signature=dGhpcyBpcyBub3QgYSByZWFs%3D%3D".into(),
            p,
        ),
        (
            format!("https://b.s3.amazonaws.com/o?AWSAccessKeyId={AWS}&Expires=1&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D"),
            Detector::AwsAccessKeyId,
        ),
        (
            "https://b.s3.amazonaws.com/o?Expires=1&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D".into(),
            p,
        ),
    ];
    for (url, want) in cases {
        assert_eq!(scan(&url), Some(want), "{url}");
    }
}

#[test]
fn finds_credentials_behind_iis_escapes_base64_and_json() {
    let github = GITHUB.strip_prefix('g').unwrap_or(GITHUB);
    let url_safe = b64url(&format!("??>{GITHUB}??>"));
    assert!(url_safe.contains(['-', '_']), "{url_safe}");
    let percent_b64 = b64(&format!(">>>{GITHUB}???"))
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let cases: Vec<(String, Detector)> = vec![
        // IIS `%uXXXX`, in the query, the path and the fragment; upper-case `U`; double-encoded.
        (
            format!("https://api.example.com/x?t=%u0067{github}"),
            Detector::GithubToken,
        ),
        (
            format!("https://api.example.com/x?t=%U0067{github}"),
            Detector::GithubToken,
        ),
        (
            format!("https://api.example.com/%u0067{github}/x"),
            Detector::GithubToken,
        ),
        (
            format!("https://api.example.com/x#%u0067{github}"),
            Detector::GithubToken,
        ),
        (
            format!("https://api.example.com/x?t=%25u0067{github}"),
            Detector::GithubToken,
        ),
        (
            "https://api.example.com/x?%u0070assword=Tr0ub4!".into(),
            Detector::CredentialParameter,
        ),
        // Base64 and base64url, in a parameter, a path segment, the fragment, percent-encoded.
        (
            format!("https://img.example.com/r?data={}", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?data={url_safe}"),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/blobs/{}/raw", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r#{}", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d={percent_b64}"),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d={}", b64(AWS)),
            Detector::AwsAccessKeyId,
        ),
        (
            format!("https://img.example.com/r?data={}", b64("password=hunter2x")),
            Detector::CredentialParameter,
        ),
        (
            format!(
                "https://img.example.com/r?data={}",
                b64url(r#"{"user":"a","password":"hunter2x"}"#)
            ),
            Detector::CredentialParameter,
        ),
    ];
    for (url, want) in cases {
        assert_eq!(scan(&url), Some(want), "{url}");
    }
}

/// Look-alikes of the new rules, each a value or name an agent meets in ordinary browsing: words that name
/// credentials as topics (`sort=password`), settings, placeholders and masks, pagination and anti-forgery
/// tokens, lookup keys, a bare `session` (a conference session, not a login: session ids are named
/// `session_id`, `jsessionid`, ...), prose in a `signature`, and base64 of ordinary content.
#[test]
fn leaves_new_look_alikes_alone() {
    for url in [
        "https://app.example.com/list?sort=password".to_owned(),
        "https://app.example.com/list?field=secret&order=desc".into(),
        "https://books.example.com/?author=dragonfly".into(),
        "https://docs.example.com/docs/authorization".into(),
        "https://docs.example.com/docs/password/reset".into(),
        "https://conf.example.com/talks?session=summer-2024".into(),
        "https://conf.example.com/talks?session=2".into(),
        "https://db.example.com/login?password=".into(),
        "https://db.example.com/login?password=********".into(),
        "https://db.example.com/login?password={password}".into(),
        "https://db.example.com/login?password=%7Bpassword%7D".into(),
        "https://db.example.com/login?password=%3Cpassword%3E".into(),
        "https://db.example.com/login?password=${DB_PASSWORD}".into(),
        "https://db.example.com/login?forgot_password=true".into(),
        "https://db.example.com/login?show_password=1".into(),
        "https://db.example.com/login?new_password=abc".into(),
        "https://db.example.com/login?password=12345".into(),
        "https://db.example.com/login?pass=12".into(),
        "https://api.example.com/x?key=value-of-a-sort-order".into(),
        "https://api.example.com/x?sort_key=created_at_desc".into(),
        "https://api.example.com/x?public_key=MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE".into(),
        "https://api.example.com/x?nextPageToken=CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA0cHE3Y2w1MxIAGgA".into(),
        "https://api.example.com/x?continuation_token=abcdefghijklmnopqrstuvwxyz012345".into(),
        "https://api.example.com/x?csrf_token=abcdef1234567890".into(),
        "https://api.example.com/x?max_tokens=100000000".into(),
        "https://cdn.example.com/?bypass=cache-control-123".into(),
        "https://maps.example.com/?compass=north-by-northwest".into(),
        "https://api.example.com/x?auth=true".into(),
        "https://api.example.com/x?auth=none".into(),
        "https://api.example.com/x?authorization=required".into(),
        "https://mail.example.com/x?signature=John+Smith".into(),
        "https://api.example.com/x?sid=42".into(),
        "https://api.example.com/x?oauth=true".into(),
        "https://api.example.com/x?token_type=bearer&expires_in=3600".into(),
        "https://ide.example.com/?pwd=~/projects/app".into(),
        "https://ide.example.com/?pwd=%2Fhome%2Fuser".into(),
        "https://blog.example.com/how-to-choose-a-strong-password-in-2024".into(),
        "https://search.example.com/?q=what+is+my+password+strength".into(),
        "https://search.example.com/?q=password%3Dshort".into(),
        "https://app.example.com/fetch?credentials=include".into(),
        "https://b.s3.amazonaws.com/o?X-Amz-Expires=900&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host".into(),
        "https://app.example.com/login?redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb".into(),
        format!(
            "https://img.example.com/r?data={}",
            b64("hello world, this is only a test")
        ),
        format!(
            "https://img.example.com/r?data={}",
            b64(r#"{"page":2,"sort":"password"}"#)
        ),
        "https://news.example.com/articles/asiapacificnewsnetwork-weekly-digest".into(),
    ] {
        assert_eq!(scan(&url), None, "{url}");
    }
}

#[test]
fn a_recorded_path_keeps_no_credential_found_in_any_text() {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    let record = |url: &str| {
        let (target, tail) = Target::parse_url(url).unwrap();
        let d = authorize_egress(&policy, "alice", "open", (&target, &tail));
        RequestRecord::new(
            Ulid::new(),
            "a".into(),
            Identity::dev(),
            "open".into(),
            target,
            None,
            &d,
        )
    };
    // Readable only once decoded (`%u`, base64): the whole path goes.
    let github = GITHUB.strip_prefix('g').unwrap_or(GITHUB);
    assert_eq!(
        record(&format!("https://api.example.com/k/%u0067{github}"))
            .target
            .path(),
        "/[REDACTED]"
    );
    assert_eq!(
        record(&format!("https://api.example.com/blobs/{}/raw", b64(GITHUB)))
            .target
            .path(),
        "/[REDACTED]"
    );
    // Found as written: each credential parameter goes, its separator stays; a value may hold `/`, so it
    // runs to the end of the path.
    assert_eq!(
        record("https://db.example.com/login;password=Tr0ub4!/next")
            .target
            .path(),
        "/login;[REDACTED]"
    );
    let long = "A1".repeat(400);
    let r = record(&format!("https://api.example.com/files/api_key={long}"));
    assert_eq!(r.target.path(), "/files/[REDACTED]");
    // Overlapping parameters (the first value runs on past `;`): the credential still goes.
    let r = record("https://api.example.com/x;page_token=abc;db_password=Tr0ub4dor3");
    assert!(!r.target.path().contains("Tr0ub4dor3"), "{}", r.target.path());
}

// Security round 4: evasions of step 4 confirmed by an adversarial review, each class with its reported
// examples and generated variants.

#[test]
fn finds_round_four_evasions() {
    let p = Detector::CredentialParameter;
    let github = GITHUB.strip_prefix('g').unwrap_or(GITHUB);
    let cases: Vec<(String, Detector)> = vec![
        // Array parameters: any bracket groups between the name and `=`.
        ("https://db.example.com/x?password[]=hunter22x".into(), p),
        ("https://db.example.com/x?password%5B%5D=hunter22x".into(), p),
        ("https://api.example.com/x?api_key[0]=abcdefgh12345678".into(), p),
        ("https://db.example.com/x?user[password][]=hunter22x".into(), p),
        ("https://api.example.com/x?api_key[0][value]=abcdefgh12345678".into(), p),
        ("https://db.example.com/x?secret%5B0%5D%5Bv%5D=Tr0ub4dor3".into(), p),
        ("https://db.example.com/x;password[]=hunter22x".into(), p),
        // Dotted names are one name (`api.key`), not a bare `key`.
        ("https://api.example.com/x?api.key=abcdefgh12345678".into(), p),
        ("https://api.example.com/x?Api.Key=abcdefgh12345678".into(), p),
        ("https://api.example.com/x?client.secret=q9W8e7R6t5Y4".into(), p),
        ("https://db.example.com/x?config.db.password=hunter22x".into(), p),
        ("https://api.example.com/x?app.access.token=abcdefgh12345678".into(), p),
        // A parameter nested in a value, or in the value of an exempt one.
        ("https://search.example.com/?q=password%3Dhunter22x".into(), p),
        ("https://search.example.com/?q=password=hunter22x".into(), p),
        ("https://search.example.com/?q=x:password=hunter22x".into(), p),
        ("https://search.example.com/?q=a%26password%3Dhunter22x".into(), p),
        ("https://ide.example.com/?pwd=/home/user/password=hunter22x".into(), p),
        (
            "https://api.example.com/x?auth=none&q=db_password%253Dhunter22x".into(),
            p,
        ),
        // Object literals: `'` quotes, unquoted keys, JSON `\uXXXX` escapes.
        ("https://api.example.com/q?q={'password':'hunter22x'}".into(), p),
        ("https://api.example.com/q?q={password:'hunter22x'}".into(), p),
        (
            "https://api.example.com/q?q=%7B%22pass%5Cu0077ord%22%3A%22hunter22x%22%7D".into(),
            p,
        ),
        (
            r#"https://api.example.com/q?q={"password"%20:%20'hunter22x'}"#.into(),
            p,
        ),
        ("https://api.example.com/q?q={'api_key':'abcdefgh12345678'}".into(), p),
        ("https://api.example.com/q?q={api_key:%22abcdefgh12345678%22}".into(), p),
        (
            r#"https://api.example.com/q?q={"%5Cu0070%5Cu0061ssword":"hunter22x"}"#.into(),
            p,
        ),
        (
            "https://api.example.com/q?q=%7B%22password%22%3A%22it's-a-secret%22%7D".into(),
            p,
        ),
        (
            "https://api.example.com/q?q=%7B%22t%22%3A%22%5Cu0067hp_0123456789abcdefghijABCDEFGHIJ012345%22%7D".into(),
            Detector::GithubToken,
        ),
        // Protocol-relative userinfo.
        (
            "https://api.example.com/r?u=//user:hunter22x@evil.example".into(),
            Detector::UrlCredentials,
        ),
        (
            "https://api.example.com/r?u=%2F%2Fuser%3Ahunter22x%40evil.example".into(),
            Detector::UrlCredentials,
        ),
        (
            "https://api.example.com/r#//admin:pw1234@internal.example/".into(),
            Detector::UrlCredentials,
        ),
        (
            "https://api.example.com/r?a=1&next=//admin:pw1234@internal.example".into(),
            Detector::UrlCredentials,
        ),
        // Base64 that does not start where its run does (a junk prefix of any length, or after `-`/`_`).
        (
            format!("https://img.example.com/r?d=x-{}", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d=x{}", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d=xy{}", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d=xyz{}", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d=ab_{}", b64url(&format!("??>{GITHUB}"))),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/blobs/x{}/raw", b64(GITHUB)),
            Detector::GithubToken,
        ),
        (
            format!("https://img.example.com/r?d=q{}", b64(AWS)),
            Detector::AwsAccessKeyId,
        ),
        (
            format!("https://img.example.com/r?d=zz-{}", b64("password=hunter22x")),
            p,
        ),
        // Value exemptions no longer open to a prefix: a path needs a second `/`, a placeholder must be
        // the whole value, close, and name a credential.
        ("https://db.example.com/x?password=/hunter22x".into(), p),
        ("https://db.example.com/x?password=./hunter22x".into(), p),
        ("https://db.example.com/x?password=../hunter22x".into(), p),
        ("https://db.example.com/x?password=~hunter22x".into(), p),
        ("https://db.example.com/x?password={hunter22x}".into(), p),
        ("https://db.example.com/x?password=<hunter22x>".into(), p),
        ("https://db.example.com/x?password=%3Chunter22x%3E".into(), p),
        ("https://db.example.com/x?password=${hunter22x".into(), p),
        ("https://db.example.com/x?password=${hunter22x}".into(), p),
        ("https://db.example.com/x?password={hunter22x".into(), p),
        ("https://db.example.com/x?password=%25shunter22x".into(), p),
        ("https://db.example.com/x?password={{hunter22x}}".into(), p),
        ("https://api.example.com/x?api_key=/abcdefgh12345678".into(), p),
        // Unicode compatibility forms: fullwidth letters, `%uFFxx`.
        (
            "https://img.example.com/r?d=ＡＫＩＡIOSFODNN7EXAMPLE".into(),
            Detector::AwsAccessKeyId,
        ),
        (
            format!("https://api.example.com/x?t=%uFF47{github}"),
            Detector::GithubToken,
        ),
        (
            format!("https://api.example.com/%uFF47{github}/x"),
            Detector::GithubToken,
        ),
        (format!("https://api.example.com/x#ｇ{github}"), Detector::GithubToken),
        // A fullwidth `％` that decodes to an escape once folded.
        (
            format!("https://api.example.com/x?t=％67{github}"),
            Detector::GithubToken,
        ),
        ("https://db.example.com/x?ｐａｓｓｗｏｒｄ=hunter22x".into(), p),
        ("https://db.example.com/x?password＝hunter22x".into(), p),
        // More names: `pw`, `bearer` (valued like an authorization scheme), `passcode`.
        ("https://db.example.com/x?pw=hunter22x".into(), p),
        ("https://db.example.com/x?user_pw=Tr0ub4dor3".into(), p),
        ("https://db.example.com/x?dbPw=Tr0ub4dor3".into(), p),
        ("https://api.example.com/x?bearer=abcdefghijk".into(), p),
        ("https://api.example.com/x?bearer=abc.def.ghijkl".into(), p),
        ("https://api.example.com/x?x-bearer=abcdefghijk".into(), p),
        ("https://api.example.com/x?passcode=482913".into(), p),
    ];
    for (url, want) in cases {
        assert_eq!(scan(&url), Some(want), "{url}");
    }
}

/// Look-alikes of the round-four rules: real paths, whole placeholders, arrays, dotted settings, object
/// literals and protocol-relative links without a credential, fullwidth text, and names deliberately not
/// added (`pin`, `code`).
#[test]
fn leaves_round_four_look_alikes_alone() {
    for url in [
        "https://ide.example.com/?pwd=/home/user/project".to_owned(),
        "https://ide.example.com/?pwd=./src/main".into(),
        "https://ide.example.com/?pwd=../app/config".into(),
        "https://db.example.com/login?password=%s".into(),
        "https://db.example.com/login?password=%25s".into(),
        "https://db.example.com/login?password={{password}}".into(),
        "https://db.example.com/login?password={{%20password%20}}".into(),
        "https://db.example.com/login?password=<your-password>".into(),
        "https://api.example.com/x?api_key=<YOUR_API_KEY>".into(),
        "https://api.example.com/x?api_key={apiKey}".into(),
        "https://api.example.com/x?token=${ACCESS_TOKEN}".into(),
        "https://api.example.com/x?password=%PASSWORD%".into(),
        "https://api.example.com/x?ids[]=1&ids[]=2&tags[0]=rust".into(),
        "https://api.example.com/x?filter[password_reset]=true".into(),
        "https://api.example.com/x?password[]=".into(),
        "https://api.example.com/x?api.version=2024-01-01".into(),
        "https://api.example.com/x?hub.mode=subscribe&hub.topic=feed".into(),
        "https://api.example.com/x?config.key=theme".into(),
        "https://api.example.com/q?q={'page':2,'sort':'password'}".into(),
        "https://api.example.com/q?q={sort:'password'}".into(),
        "https://api.example.com/q?q={password:''}".into(),
        "https://api.example.com/q?q={'token':'none'}".into(),
        "https://search.example.com/?q=password:reset".into(),
        "https://search.example.com/?q=topic%3Dpassword".into(),
        "https://api.example.com/r?u=//cdn.example.com/lib.js".into(),
        "https://api.example.com/r?u=//user@cdn.example.com/".into(),
        "https://api.example.com/r?t=12:30&u=//cdn.example.com:8080/x".into(),
        "https://search.example.com/?q=ｈｅｌｌｏ+ｗｏｒｌｄ".into(),
        "https://search.example.com/?q=東京タワー".into(),
        "https://api.example.com/x?bearer=true".into(),
        "https://api.example.com/x?token_type=bearer".into(),
        "https://shop.example.com/?pin=1234".into(),
        "https://pinterest.example.com/?pin=987654321012345678".into(),
        "https://maps.example.com/?pin=40.7128,-74.0060".into(),
        "https://app.example.com/cb?code=4/0AX4XfWhAbCdEfGh123456&state=xyz".into(),
        "https://shop.example.com/?country_code=US&zip_code=94110".into(),
        "https://img.example.com/r?pw=300&ph=200".into(),
        format!(
            "https://img.example.com/r?d=x-{}",
            b64("hello world, this is only a test")
        ),
        format!(
            "https://img.example.com/r?d=xyz{}",
            b64(r#"{"page":2,"sort":"password"}"#)
        ),
    ] {
        assert_eq!(scan(&url), None, "{url}");
    }
}

/// Whatever the new readings find, the recorded path keeps none of it: readable only once folded or
/// unescaped, the whole path goes.
#[test]
fn a_recorded_path_keeps_no_round_four_credential() {
    let github = GITHUB.strip_prefix('g').unwrap_or(GITHUB);
    for (path, kept) in [
        (format!("/k/%uFF47{github}"), "/[REDACTED]".to_owned()),
        ("/k/ＡＫＩＡIOSFODNN7EXAMPLE/x".into(), "/[REDACTED]".into()),
        (format!("/k/x{}/raw", b64(GITHUB)), "/[REDACTED]".into()),
        (
            "/k/%7B%22pass%5Cu0077ord%22%3A%22hunter22x%22%7D".into(),
            "/[REDACTED]".into(),
        ),
        ("/k;password[]=hunter22x".into(), "/k;[REDACTED]".into()),
        ("/k;api.key=abcdefgh12345678".into(), "/k;[REDACTED]".into()),
        ("/k/password={hunter22x}".into(), "/k/[REDACTED]".into()),
        (
            "/k/x=//user:hunter22x@evil.example".into(),
            "/k/x=//[REDACTED]evil.example".into(),
        ),
    ] {
        assert_eq!(
            egress_core::redact_path(&path).as_deref(),
            Some(kept.as_str()),
            "{path}"
        );
    }
}

/// A hostile 8 KiB URL (long base64-alphabet runs with junk, fullwidth letters, escapes and nested
/// parameters): the time is printed, not asserted (run `--release` to read a meaningful number).
#[test]
fn a_hostile_eight_kib_query_is_scanned_in_bounded_time() {
    let mut query = String::from("d=");
    // Half in the query, half in the fragment: the URL is as long as one may be.
    while query.len() < 4000 {
        query.push_str("x-Z2hwXzAxMjM0NTY3ODlh_");
        query.push_str("%uFF41%5Cu0061ｂ=password=;pwd=/a/b/");
        query.push_str("QUtJQUlPU0ZPRE5ON0VYQU1QTEU");
    }
    // And one base64-alphabet run, cut by `-` and `_` into the most pieces, that holds nothing.
    let run: String = (0..230)
        .map(|i| format!("QWxhZGRpbjpvcGVu{}", ["-", "_"][i % 2]))
        .collect();
    for (what, query) in [("mixed", query), ("run", run)] {
        let url = format!("https://api.example.com/x?{query}#{query}");
        let (_, tail) = Target::parse_url(&url).unwrap();
        let rounds = 20;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(scan_for_secrets(&tail));
        }
        let per_scan = start.elapsed() / rounds;
        let path = format!("/{query}");
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(egress_core::redact_path(&path));
        }
        println!(
            "hostile {what} {} byte URL: scan {per_scan:?}, redact_path {:?}",
            url.len(),
            start.elapsed() / rounds
        );
    }
}

// Security round 3, class 7: credentials in host labels.

const SLACK: &str = "xoxb-123456789012-1234567890123-AbCdEfGhIjKl";

fn recorded(
    policy: &CompiledPolicy,
    zone: &str,
    target: &Target,
    tail: Option<&egress_core::UrlTail>,
) -> RequestRecord {
    let d = match tail {
        Some(tail) => authorize_egress(policy, "alice", zone, (target, tail)),
        None => authorize_egress(policy, "alice", zone, target),
    };
    RequestRecord::new(
        Ulid::new(),
        "alice".into(),
        Identity::dev(),
        zone.into(),
        target.clone(),
        None,
        &d,
    )
}

/// Neither the token nor its lowercase form is anywhere in the record, its JSON, or its events.
fn assert_never_recorded(record: &RequestRecord, token: &str) {
    let json = serde_json::to_string(record).unwrap();
    let lower = token.to_ascii_lowercase();
    assert!(!json.contains(token) && !json.contains(&lower), "{json}");
    for event in egress_core::events_for(record) {
        let detail = serde_json::to_string(&event.detail).unwrap();
        assert!(!detail.contains(token) && !detail.contains(&lower), "{detail}");
    }
    // What the record keeps reads back (deserialization re-normalizes the target).
    let back: RequestRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, record);
}

#[test]
fn a_credential_in_a_host_label_is_decided_and_never_recorded() {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    let inputs = [
        (
            format!("https://{GITHUB}.attacker.net/x"),
            GITHUB,
            Detector::GithubToken,
            "redacted.attacker.net",
        ),
        (
            format!("https://{SLACK}.attacker.net/"),
            SLACK,
            Detector::SlackToken,
            "redacted.attacker.net",
        ),
        (
            format!("https://a.{GITHUB}.attacker.net/"),
            GITHUB,
            Detector::GithubToken,
            "a.redacted.attacker.net",
        ),
        (
            format!("https://x-{SLACK}.attacker.net/"),
            SLACK,
            Detector::SlackToken,
            "redacted.attacker.net",
        ),
        (
            format!("https://{}.attacker.net/", AWS.to_ascii_lowercase()),
            AWS,
            Detector::AwsAccessKeyId,
            "redacted.attacker.net",
        ),
        (
            format!("https://{JWT}.attacker.net/"),
            JWT,
            Detector::Jwt,
            "redacted.attacker.net",
        ),
    ];
    for (url, token, detector, kept) in inputs {
        let (target, tail) = Target::parse_url(&url).unwrap();
        let domain = Target::from_domain(&target.host().to_string()).unwrap();
        for (target, tail) in [(&target, Some(&tail)), (&domain, None)] {
            // A `default: allow` zone denies it at step 4, naming the detector.
            let record = recorded(&policy, "strict", target, tail);
            assert_eq!(
                (record.decision.as_str(), record.reason.as_str(), record.dlp),
                ("deny", "dlp_secret_in_url", Some(detector)),
                "{url}"
            );
            assert_eq!(record.target.host().to_string(), kept, "{url}");
            assert_never_recorded(&record, token);
            // Sent for approval; the approval keeps the recorded (redacted) target.
            let record = recorded(&policy, "ask", target, tail);
            assert_eq!(record.reason.as_str(), "dlp_secret_in_url", "{url}");
            let approval = egress_core::ApprovalRecord::open(Ulid::new(), &record, 60);
            let approval_json = serde_json::to_string(&approval).unwrap();
            assert!(!approval_json.contains(&token.to_ascii_lowercase()), "{approval_json}");
            // Whatever decides, and with DLP off, the host is still recorded redacted.
            for zone in ["open", "nowhere"] {
                let record = recorded(&policy, zone, target, tail);
                assert_eq!(record.target.host().to_string(), kept, "{url} in {zone}");
                assert_never_recorded(&record, token);
            }
            let open = authorize_egress(&policy, "alice", "open", target);
            assert_eq!((open.reason().as_str(), open.dlp()), ("default_allow", None));
        }
    }
    // An IP literal holds no credential.
    let ip = egress_core::Host::Ipv4(std::net::Ipv4Addr::new(93, 184, 215, 14));
    assert_eq!(egress_core::scan_host_for_secrets(&ip), None);
}

/// Host names that resemble a detector's format without being one: AWS key prefixes that start words
/// (`asia…`), `AIza` inside a word, Slack-like and GitHub-like names.
#[test]
fn leaves_look_alike_hosts_alone() {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    for host in [
        "asiapacificnewsnetwork.com",
        "asia24hoursnewsonline.com",
        "accaglobalprofessionals.org",
        "faizaljewellery-and-handicrafts-online-store.com",
        "xoxo-gifts.example.com",
        "www.github.com",
        "hooks.slack.com",
        "ya29.example.com",
        "sk-telecom.example.com",
    ] {
        let target = Target::from_domain(host).unwrap();
        let record = recorded(&policy, "strict", &target, None);
        assert_eq!(record.reason.as_str(), "default_allow", "{host}");
        assert_eq!(record.target.host().to_string(), host);
    }
}

mod host_property {
    use super::*;
    use proptest::prelude::*;

    /// A token in one of the detectors' formats (AWS key ids with a digit: see the host rule).
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9]{36}".prop_map(|s| format!("ghp_{s}")),
            "[0-9]{10,12}-[0-9]{10,13}-[A-Za-z0-9]{12,24}".prop_map(|s| format!("xoxb-{s}")),
            "[A-Z2-7]{8}[2-7][A-Z2-7]{7}".prop_map(|s| format!("AKIA{s}")),
            "[A-Za-z0-9]{34}".prop_map(|s| format!("hf_{s}")),
            "[A-Za-z0-9]{24}".prop_map(|s| format!("sk_live_{s}")),
            "[A-Za-z0-9]{20,40}".prop_map(|s| format!("glpat-{s}")),
            "[A-Za-z0-9]{35}".prop_map(|s| format!("AIza{s}")),
            "[A-Za-z0-9]{40,50}".prop_map(|s| format!("sk-proj-{s}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any detector-format token in any label, of a `url` or a `domain` input: denied in a
        /// `default: allow` zone, and never in the serialized record or its events, even with DLP off.
        #[test]
        fn a_token_in_any_label_is_never_recorded(
            token in token(),
            at in 0usize..4,
            url in any::<bool>(),
        ) {
            let mut labels = vec!["a", "b", "attacker", "net"];
            labels.insert(at, &token);
            let host = labels.join(".");
            let parsed = match url {
                true => Target::parse_url(&format!("https://{host}/x")).map(|(t, tail)| (t, Some(tail))),
                false => Target::from_domain(&host).map(|t| (t, None)),
            };
            prop_assume!(parsed.is_ok());
            let Ok((target, tail)) = parsed else { unreachable!() };
            let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
            for zone in ["strict", "open"] {
                let record = recorded(&policy, zone, &target, tail.as_ref());
                if zone == "strict" {
                    prop_assert_eq!(record.reason.as_str(), "dlp_secret_in_url");
                }
                assert_never_recorded(&record, &token);
            }
        }
    }
}
