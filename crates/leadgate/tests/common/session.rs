//! A dashboard user's browser session for the integration suites: the sign-in form, the
//! session cookie and the page's CSRF token.

use super::TestApp;
use reqwest::{Client, StatusCode};

/// A browser-like client signed in as `name`: the session cookie and the page's CSRF token.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

pub fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

pub fn attribute(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect("marker on the page") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The sign-in form fetched and posted, as a browser does; with `client`, both requests
/// carry `X-Forwarded-For: client`.
pub async fn sign_in_request(
    base: &str,
    client: Option<&str>,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let forwarded = |request: reqwest::RequestBuilder| match client {
        Some(client) => request.header("x-forwarded-for", client),
        None => request,
    };
    let form = forwarded(http.get(format!("{base}/login")))
        .send()
        .await
        .unwrap();
    let login_cookie = cookie_value(&form, "lg_login").expect("the sign-in form's cookie");
    let token = attribute(&form.text().await.unwrap(), "name=\"token\" value=\"");
    forwarded(http.post(format!("{base}/login")))
        .header("cookie", format!("lg_login={login_cookie}"))
        .form(&[
            ("name", name),
            ("password", password),
            ("token", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs `name` in through the sign-in form, as a browser does.
pub async fn sign_in(app: &TestApp, name: &str, password: &str) -> Browser {
    let response = sign_in_request(&app.base, None, name, password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name} signs in");
    let session = cookie_value(&response, "lg_session").expect("a session cookie");
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!("lg_session={session}");
    let home = client
        .get(app.url("/leads"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let csrf = attribute(&home.text().await.unwrap(), "data-csrf=\"");
    Browser {
        client,
        base: app.base.clone(),
        cookie,
        csrf,
    }
}

impl Browser {
    pub async fn get(&self, path: &str) -> StatusCode {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// A page's status and text.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> StatusCode {
        self.post_to(path, form).await.0
    }

    /// A form post's response, as the browser gets it (not followed).
    pub async fn submit(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        fields.extend_from_slice(form);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// A form post's status and where it sends the browser (its `Location`, decoded).
    pub async fn post_to(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self.submit(path, form).await;
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| {
                percent_encoding::percent_decode_str(&l.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        (response.status(), location)
    }
}
