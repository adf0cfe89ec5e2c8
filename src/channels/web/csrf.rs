//! Cross-site request forgery: a page on another site can make a signed-in commissioner's
//! browser send a form to the console's routes. Staff and admin writes that ride on the
//! console's cookie must therefore be JSON (a cross-site form cannot send that content type
//! without a CORS preflight, which we never grant) and come from this origin (`Origin`, or
//! `Sec-Fetch-Site: same-origin`). Requests with an `Authorization` header are tools
//! holding a token, which a browser never attaches by itself; requests without the cookie
//! carry no rights to abuse (signing in is one: it sets the cookie, it does not use it).

use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Routes whose writes act with staff or admin rights.
const STAFF_PREFIXES: &[&str] = &["/api/staff/", "/api/tickets", "/api/admin/"];

pub async fn same_origin_writes(req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let staff = STAFF_PREFIXES
        .iter()
        .any(|p| req.uri().path().starts_with(p));
    // Only what rides on the console's cookie is at risk: a request without it is
    // anonymous (and refused by the route's own sign-in check), one with a token is a tool.
    let by_cookie = super::cookie(req.headers(), super::STAFF_COOKIE).is_some();
    if !writes || !staff || !by_cookie || req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    if let Err(e) = check(&req) {
        return e.into_response();
    }
    next.run(req).await
}

fn check(req: &Request) -> Result<(), ApiError> {
    let h = req.headers();
    let text = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let json = text(header::CONTENT_TYPE).is_some_and(|c| c.starts_with("application/json"));
    if !json {
        return Err(ApiError::CrossSite);
    }
    let same_site_fetch = h
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "same-origin");
    let same_origin = match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }
        _ => false,
    };
    if same_site_fetch || same_origin {
        Ok(())
    } else {
        Err(ApiError::CrossSite)
    }
}
