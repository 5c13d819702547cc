//! The people of a seeded agency, for the benchmarks that need one of a given size: half as
//! many assistants as engagements (each with an address), and per engagement a client with one
//! contact and the engagement itself (active since 2025-12-01, trial to 2025-12-28, a budget of
//! 20 h), engagement `e` with assistant `e % assistants`. Ids count from 1.

use chrono::{DateTime, Utc};
use tandem::store;

/// Writes them in `tx`: the assistants as added at `assistants_added`, the clients and the
/// engagements at `added`.
pub async fn people_and_engagements(
    tx: &mut store::Conn,
    engagements: usize,
    assistants_added: DateTime<Utc>,
    added: DateTime<Utc>,
) {
    let assistants = engagements.div_ceil(2);
    for a in 0..assistants {
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO assistant (id, name, timezone, locale, created_at) VALUES ($1, $2, 'Europe/Berlin', 'de', $3)",
        )
        .bind(a as i64 + 1)
        .bind(format!("Assistant {a}"))
        .bind(assistants_added)
        .execute(c)
        .await.map(|r| r.rows_affected()))
        .unwrap();
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO assistant_email (email, assistant_id, position) VALUES ($1, $2, 0)",
        )
        .bind(format!("a{a}@va.example"))
        .bind(a as i64 + 1)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    for e in 0..engagements {
        let id = e as i64 + 1;
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO client (id, tag, name, timezone, locale, created_at) VALUES ($1, $2, $3, 'Europe/Berlin', 'de', $4)",
        )
        .bind(id)
        .bind(format!("c{e}"))
        .bind(format!("Client {e} GmbH"))
        .bind(added)
        .execute(c)
        .await.map(|r| r.rows_affected()))
        .unwrap();
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO contact (client_id, position, name, email) VALUES ($1, 0, 'Contact', $2)",
        )
        .bind(id)
        .bind(format!("c{e}@client.example"))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO engagement (id, assistant_id, client_id, start_date, trial_end, status, \
             budget_minutes, created_at) VALUES ($1, $2, $1, '2025-12-01', '2025-12-28', 'active', 1200, $3)",
        )
        .bind(id)
        .bind((e % assistants) as i64 + 1)
        .bind(added)
        .execute(c)
        .await.map(|r| r.rows_affected()))
        .unwrap();
    }
}
