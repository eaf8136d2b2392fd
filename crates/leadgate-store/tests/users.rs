//! Users, sessions and role-carrying API keys against real databases (both engines).

use chrono::Duration;
use leadgate_core::access::{LeadScope, Role};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_store::{NewUser, Store, StoreError};

leadgate_store::on_both_engines!(
    a_user_logs_in_and_the_session_ends_on_logout_password_change_or_disable,
    bad_users_are_refused_naming_the_field,
    api_keys_carry_a_role_and_a_team,
    each_user_has_a_time_zone_checked_against_the_tz_database,
);

fn user(name: &str, role: Role, team: Option<&str>) -> NewUser {
    NewUser {
        name: name.into(),
        display_name: None,
        role,
        team: team.map(Into::into),
        locale: "en".into(),
        time_zone: String::new(),
        password: "correct horse battery".into(),
    }
}

async fn with_team(store: &Store) {
    store
        .put_team("hcmc", &BusinessCalendar::always(), Some("lan"))
        .await
        .unwrap();
}

async fn a_user_logs_in_and_the_session_ends_on_logout_password_change_or_disable(store: Store) {
    with_team(&store).await;
    let made = store
        .create_user(user("minh", Role::SalesRep, Some("hcmc")))
        .await
        .unwrap();
    assert_eq!(made.scope(), LeadScope::Team("hcmc".into()));
    let ttl = Duration::hours(1);
    assert!(store
        .log_in("minh", "wrong password!", ttl)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .log_in("nobody", "correct horse battery", ttl)
        .await
        .unwrap()
        .is_none());
    let (who, session) = store
        .log_in("minh", "correct horse battery", ttl)
        .await
        .unwrap()
        .expect("logs in");
    assert_eq!(who.name, "minh");
    let live = store.session(&session.token).await.unwrap().expect("live");
    assert_eq!(live.user.role, Role::SalesRep);
    assert_eq!(live.csrf, session.csrf);
    assert!(store.session("forged-token").await.unwrap().is_none());

    store.log_out(&session.token).await.unwrap();
    assert!(store.session(&session.token).await.unwrap().is_none());

    // A new password ends every session and the old password stops working.
    let (_, second) = store
        .log_in("minh", "correct horse battery", ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .set_password("minh", "a new long secret")
        .await
        .unwrap());
    assert!(store.session(&second.token).await.unwrap().is_none());
    assert!(store
        .log_in("minh", "correct horse battery", ttl)
        .await
        .unwrap()
        .is_none());

    // Disabled: sessions end, logging in fails; enabled again: it works.
    let (_, third) = store
        .log_in("minh", "a new long secret", ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(store.set_user_disabled("minh", true).await.unwrap());
    assert!(store.session(&third.token).await.unwrap().is_none());
    assert!(store
        .log_in("minh", "a new long secret", ttl)
        .await
        .unwrap()
        .is_none());
    assert!(store.set_user_disabled("minh", false).await.unwrap());
    assert!(store
        .log_in("minh", "a new long secret", ttl)
        .await
        .unwrap()
        .is_some());

    // An expired session is refused.
    let (_, expired) = store
        .log_in("minh", "a new long secret", Duration::seconds(-1))
        .await
        .unwrap()
        .unwrap();
    assert!(store.session(&expired.token).await.unwrap().is_none());
    assert!(!store
        .set_password("nobody", "long enough pw")
        .await
        .unwrap());
}

async fn bad_users_are_refused_naming_the_field(store: Store) {
    with_team(&store).await;
    let fields = |e: StoreError| match e {
        StoreError::Invalid(errors) => errors.0.into_iter().map(|e| e.field).collect::<Vec<_>>(),
        other => panic!("expected field errors, got {other}"),
    };
    let mut bad = user("has space", Role::SalesRep, None);
    bad.password = "short".into();
    let err = store.create_user(bad).await.unwrap_err();
    assert_eq!(fields(err), vec!["name", "password", "team"]);
    let err = store
        .create_user(user("x", Role::SalesManager, Some("nowhere")))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no team is named 'nowhere'"),
        "{err}"
    );
    store
        .create_user(user("lan", Role::SalesManager, Some("hcmc")))
        .await
        .unwrap();
    let err = store
        .create_user(user("lan", Role::Viewer, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exists"), "{err}");
    assert_eq!(store.users().await.unwrap().len(), 1);
}

async fn api_keys_carry_a_role_and_a_team(store: Store) {
    with_team(&store).await;
    let err = store
        .create_api_key("crm", Role::SalesRep, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("team"), "{err}");
    let made = store
        .create_api_key("crm", Role::SalesRep, Some("hcmc"))
        .await
        .unwrap();
    let key = store
        .verify_api_key(&made.secret)
        .await
        .unwrap()
        .expect("valid");
    assert_eq!(key.role(), Role::SalesRep);
    assert_eq!(key.scope(), LeadScope::Team("hcmc".into()));
    let listed = store.list_api_keys().await.unwrap();
    assert_eq!(listed[0].role(), Role::SalesRep);
}

async fn each_user_has_a_time_zone_checked_against_the_tz_database(store: Store) {
    with_team(&store).await;
    let plain = store
        .create_user(user("ana", Role::Marketing, None))
        .await
        .unwrap();
    assert_eq!(plain.time_zone, "UTC", "none given is UTC");
    let mut minh = user("minh", Role::SalesRep, Some("hcmc"));
    minh.time_zone = " asia/ho_chi_minh ".into();
    let minh = store.create_user(minh).await.unwrap();
    assert_eq!(
        minh.time_zone, "Asia/Ho_Chi_Minh",
        "spelled as the tz database does"
    );
    assert_eq!(minh.zone(), chrono_tz::Tz::Asia__Ho_Chi_Minh);

    let mut bad = user("bo", Role::Viewer, None);
    bad.time_zone = "Mars/Olympus".into();
    match store.create_user(bad).await {
        Err(StoreError::Invalid(errors)) => {
            assert!(errors.to_string().contains("time_zone"), "{errors}");
            assert!(errors.to_string().contains("Mars/Olympus"), "{errors}");
        }
        other => panic!("expected a field error, got {other:?}"),
    }
    assert!(store.user("bo").await.unwrap().is_none());

    match store.set_user_time_zone(minh.id, "GMT+25").await {
        Err(StoreError::Invalid(errors)) => assert!(errors.to_string().contains("time_zone")),
        other => panic!("expected a field error, got {other:?}"),
    }
    assert_eq!(
        store.user("minh").await.unwrap().unwrap().time_zone,
        "Asia/Ho_Chi_Minh",
        "a refused zone changes nothing"
    );
    store
        .set_user_time_zone(minh.id, "Asia/Tehran")
        .await
        .unwrap();
    let (_, session) = store
        .log_in("minh", "correct horse battery", Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    let live = store.session(&session.token).await.unwrap().unwrap();
    assert_eq!(live.user.time_zone, "Asia/Tehran");
}
