//! `tandem import FILE.csv` (issue 16): assistants, clients with contacts and engagements from
//! a spreadsheet; every row checked first and nothing imported unless every row is (the error
//! names the row); `--dry-run`; a progress bar on a terminal and nothing on a pipe, on 5,000
//! rows.

use std::process::Command;

use crate::edits::{json, ok, refused, snapshot};
use crate::helpers::{BINARY, TestApp, cli_start, describe, spawn_app};

fn write(t: &TestApp, name: &str, text: &str) -> String {
    let path = t.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_agency_comes_from_a_spreadsheet_all_or_nothing() {
    let t = spawn_app().await;
    ok(
        &t,
        &[
            "client",
            "add",
            "--name",
            "Globex",
            "--tag",
            "globex",
            "--contact",
            "Gus Grey <gus@globex.example>",
        ],
    );
    let start = cli_start();
    let file = write(
        &t,
        "people.csv",
        &format!(
            "kind,name,email,tag,timezone,locale,role,reachability,assistant,client,start,trial_weeks,rate,budget,running\n\
             assistant,Sam Lee,sam@va.example;sam.lee@gmail.example,,Europe/Lisbon,en,,,,,,,,,\n\
             assistant,Kim Park,kim@va.example,,,,,,,,,,,,\n\
             client,Acme GmbH,,acme,,de,,,,,,,,,\n\
             contact,Anna Berg,anna@acme.example,acme,,,CEO,Mon-Thu 9-13,,,,,,,\n\
             contact,Ben Roth,ben@globex.example,globex,,,billing,,,,,,,,\n\
             engagement,,,,,,,,sam@va.example,acme,{start},4,45,20,\n\
             engagement,,,,,,,,kim@va.example,globex,2024-01-15,,,,yes\n"
        ),
    );

    let before = snapshot(&t);
    let out = ok(&t, &["import", &file, "--dry-run"]);
    assert!(
        out.contains(
            "dry run: every row of 7 can be imported: 2 assistant(s), 1 client(s), 2 \
             contact(s), 2 engagement(s), 2 welcome mail(s); nothing was changed"
        ),
        "{out}"
    );
    assert_eq!(before, snapshot(&t), "a dry run changed something");

    let out = ok(&t, &["import", &file]);
    assert!(
        out.contains("imported 2 assistant(s), 1 client(s), 2 contact(s), 2 engagement(s)"),
        "{out}"
    );
    let sam = json(&t, &["assistant", "show", "sam.lee@gmail.example"]);
    assert_eq!(sam["timezone"], "Europe/Lisbon");
    assert_eq!(sam["engagements"][0]["client_tag"], "acme");
    assert_eq!(sam["engagements"][0]["hourly_rate_cents"], 4500);
    assert_eq!(sam["engagements"][0]["budget_minutes"], 1200);
    let acme = json(&t, &["client", "show", "acme"]);
    assert_eq!(acme["contacts"][0]["role"], "CEO");
    let globex = json(&t, &["client", "show", "globex"]);
    assert_eq!(globex["contacts"][1]["email"], "ben@globex.example");
    let kim = json(&t, &["assistant", "show", "kim@va.example"]);
    assert_eq!(kim["engagements"][0]["status"], "active");

    // The same file again: its first row is refused by the database, naming the row, and
    // nothing of the file is imported.
    refused(
        &t,
        &["import", &file],
        "row 2: the address sam@va.example already belongs to assistant",
    );
    // A row the database refuses halfway through undoes the rows before it.
    let late = write(
        &t,
        "late.csv",
        "kind,name,email,tag\n\
         assistant,Lena Vogt,lena@va.example,\n\
         client,Initech,,initech\n\
         contact,Peter Gibbons,anna@acme.example,initech\n",
    );
    refused(
        &t,
        &["import", &late],
        "row 3: the address anna@acme.example already belongs to Anna Berg, a contact of client 'acme'",
    );
    refused(&t, &["import", &late, "--dry-run"], "row 3:");

    // Faulty rows are all named, and nothing is read into the database.
    let bad = write(
        &t,
        "bad.csv",
        "kind,name,email,tag,client,assistant,start\n\
         assistant,Lena Vogt,lena.va.example,,,,\n\
         engagement,,,,acme,lena@va.example,01.12.2026\n\
         contact,Peter,peter@initech.example,initech,,,\n",
    );
    let before = snapshot(&t);
    let output = t.tandem(&["import", &bad]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = String::from_utf8_lossy(&output.stderr);
    for fault in [
        "2 row(s) cannot be imported, so nothing is",
        "row 2: 'lena.va.example' is not an email address",
        "row 3: start '01.12.2026' is not a date: write YYYY-MM-DD",
    ] {
        assert!(err.contains(fault), "{fault}\n{}", describe(&output));
    }
    // Row 4's client is in neither the file nor tandem: the database says so.
    let unknown = write(
        &t,
        "unknown.csv",
        "kind,name,email,tag\ncontact,Peter,peter@initech.example,initech\n",
    );
    refused(
        &t,
        &["import", &unknown],
        "row 2: unknown client tag 'initech'",
    );
    assert_eq!(before, snapshot(&t));
    refused(
        &t,
        &[
            "import",
            &write(&t, "cols.csv", "kind,nmae\nassistant,Sam\n"),
        ],
        "unknown column 'nmae'",
    );
    refused(
        &t,
        &["import", "/nonexistent/people.csv"],
        "could not read /nonexistent/people.csv",
    );
}

/// The acceptance of issue 16: a 5,000-row file shows its progress on a terminal and
/// nothing on a pipe.
#[tokio::test]
async fn five_thousand_rows_show_progress_on_a_terminal_and_nothing_on_a_pipe() {
    let t = spawn_app().await;
    let mut rows = vec!["kind,name,email,tag,assistant,client,start".to_string()];
    for i in 0..2000 {
        rows.push(format!("assistant,Assistant {i},a{i}@va.example,,,,"));
    }
    for i in 0..1000 {
        rows.push(format!("client,Client {i},,c{i},,,"));
        rows.push(format!("contact,Contact {i},k{i}@c{i}.example,c{i},,,"));
    }
    // Begun more than a year ago: entered as running, with no welcome mails.
    for i in 0..1000 {
        rows.push(format!("engagement,,,,a{i}@va.example,c{i},2024-03-01"));
    }
    assert_eq!(rows.len(), 5001);
    let file = write(&t, "people.csv", &(rows.join("\n") + "\n"));

    // On a terminal (a pseudo-terminal from `script`), a dry run draws its bar.
    let command = format!(
        "{BINARY} --config {} import {file} --dry-run",
        t.config_path.display()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TANDEM_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("importing") && screen.contains("/5000 rows"),
        "no progress on a terminal:\n{}",
        &screen[..screen.len().min(2000)]
    );
    assert!(
        screen.contains("dry run: every row of 5000 can be imported"),
        "{screen}"
    );

    // On a pipe: the summary on stdout and nothing on stderr.
    let output = t.tandem(&["import", &file]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(output.stderr.is_empty(), "{}", describe(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "imported 2000 assistant(s), 1000 client(s), 1000 contact(s), 1000 engagement(s) \
         from 5000 row(s); 0 welcome mail(s) queued\n"
    );
    assert_eq!(t.count("assistant").await, 2000);
    assert_eq!(t.count("contact").await, 1000);
    assert_eq!(t.count("engagement WHERE status = 'active'").await, 1000);
}

/// Issue 18: a client's own holiday region from the `holidays` column; a region that does not
/// exist names its row and imports nothing.
#[tokio::test]
async fn a_clients_holiday_region_comes_from_its_column() {
    let t = spawn_app().await;
    let bad = write(
        &t,
        "bad.csv",
        "kind,name,email,tag,holidays\n\
         client,Acme GmbH,,acme,DE-XX\n\
         contact,Anna Berg,anna@acme.example,acme,\n",
    );
    let out = t.tandem(&["import", &bad]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("row 2: holidays"),
        "{}",
        describe(&out)
    );
    assert_eq!(t.count("client").await, 0);
    let good = write(
        &t,
        "good.csv",
        "kind,name,email,tag,holidays\n\
         client,Acme GmbH,,acme,de-nw\n\
         contact,Anna Berg,anna@acme.example,acme,\n\
         client,Globex,,globex,\n\
         contact,Gus Grey,gus@globex.example,globex,\n",
    );
    ok(&t, &["import", &good]);
    assert_eq!(json(&t, &["client", "show", "acme"])["holidays"], "DE-NW");
    assert!(json(&t, &["client", "show", "globex"])["holidays"].is_null());
}
