//! `iterate()`, live: keyset walks (ascending, descending, composite keys), OFFSET walks for
//! other orders, the query's own limit/offset, and streaming inside a transaction.

use duo_orm::prelude::*;
use futures_util::TryStreamExt;
use serde_json::json;

use crate::models::*;
use crate::setup;
use crate::support::backends;
use crate::transactions::Entry;

async fn collect<M: Model>(iterate: duo_orm::Iterate<'_, M>) -> Vec<M> {
    iterate.stream().try_collect().await.unwrap()
}

#[tokio::test]
async fn iterate_walks_keys_both_ways_and_other_orders_by_offset() {
    for t in backends("stream_walks").await {
        setup!(t.db, Entry);
        let db = &t.db;
        let rows: Vec<_> = (0..1050).map(|i| json!({"worker": i % 7, "label": format!("e{i:04}")})).collect();
        Entry::create_bulk(rows).on(db).await.unwrap();

        let all = collect(Entry::query().iterate().batch_size(100).on(db)).await;
        assert_eq!(all.len(), 1050, "{:?}", t.dialect);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));

        let descending = collect(Entry::query().order_by(|e| e.id.desc()).iterate().batch_size(64).on(db)).await;
        assert_eq!(descending.len(), 1050);
        assert!(descending.windows(2).all(|w| w[0].id > w[1].id), "{:?}", t.dialect);

        // Ordered by another column: OFFSET pages, the key breaking ties, no row twice.
        let by_worker = collect(Entry::filter(|e| e.worker.ne(3)).order_by(|e| e.worker.desc()).iterate().batch_size(77).on(db)).await;
        assert_eq!(by_worker.len(), 900);
        assert!(by_worker.windows(2).all(|w| (w[0].worker, -w[0].id) > (w[1].worker, -w[1].id)), "{:?}", t.dialect);

        // The query's own offset and limit: rows 11..=260 of the key order.
        let window = collect(Entry::query().offset(10).limit(250).iterate().batch_size(100).on(db)).await;
        assert_eq!(window.iter().map(|e| e.id).collect::<Vec<_>>(), all[10..260].iter().map(|e| e.id).collect::<Vec<_>>());

        let batches: Vec<Vec<Entry>> = Entry::query().limit(250).iterate().batch_size(100).on(db).batches().try_collect().await.unwrap();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, 50]);

        let zero = Entry::query().iterate().batch_size(0).on(db).stream().try_collect::<Vec<_>>().await;
        assert!(matches!(zero, Err(Error::InvalidQuery { .. })), "{zero:?}");
    }
}

#[tokio::test]
async fn iterate_composite_keys_and_inside_a_transaction() {
    for t in backends("stream_composite").await {
        setup!(t.db, Membership, Entry);
        let db = &t.db;
        let rows: Vec<_> = ["a", "b", "c", "d"]
            .iter()
            .flat_map(|org| (1..=25).map(move |user| json!({"org": org, "user_id": user, "role": "r"})))
            .collect();
        Membership::create_bulk(rows).on(db).await.unwrap();
        let keys = |ms: Vec<Membership>| ms.into_iter().map(|m| (m.org, m.user_id)).collect::<Vec<_>>();
        let forward = keys(collect(Membership::query().iterate().batch_size(7).on(db)).await);
        let mut expected = forward.clone();
        expected.sort();
        assert_eq!(forward, expected, "{:?}", t.dialect);
        assert_eq!(forward.len(), 100);
        let backward =
            keys(collect(Membership::query().order_by(|m| (m.org.desc(), m.user_id.desc())).iterate().batch_size(9).on(db)).await);
        expected.reverse();
        assert_eq!(backward, expected, "{:?}", t.dialect);

        // Streaming inside a transaction reads through its connection: uncommitted rows too.
        db.transaction(async {
            Entry::create_bulk((0..30).map(|i| json!({"worker": 1, "label": format!("tx{i}")}))).on(db).await?;
            let seen: Vec<Entry> = Entry::query().iterate().batch_size(8).on(db).stream().try_collect().await?;
            assert_eq!(seen.len(), 30);
            Err::<(), _>(Error::validation("block", "roll back"))
        })
        .await
        .unwrap_err();
        assert_eq!(Entry::query().count().on(db).await.unwrap(), 0);
    }
}
