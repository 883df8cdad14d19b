//! A deadline on the arrival of a request's body, counted from when the request came in.
//!
//! A timeout per read would not do: a client that sends one byte just before each would hold
//! the request, and its connection, for days. Only the body is cut short: a handler that has its
//! body goes on to the end, so that what it saves (a login's new session, say) is saved whole and
//! its answer carries the token.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::BoxError;
use bytes::Bytes;
use http::Request;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

/// The error a body gives once its deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within its deadline")]
pub struct BodyTimedOut;

impl BodyTimedOut {
    /// Whether `error`, or anything that caused it, is a body that timed out.
    pub fn caused(error: &(dyn Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if error.is::<BodyTimedOut>() {
                return true;
            }
            cause = error.source();
        }
        false
    }
}

/// `request` with a body that fails with [`BodyTimedOut`] once `limit` has passed from now.
pub fn with_deadline(request: Request<Body>, limit: Duration) -> Request<Body> {
    request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: tokio::time::sleep(limit),
        })
    })
}

pin_project! {
    struct DeadlineBody<B> {
        #[pin]
        inner: B,
        #[pin]
        deadline: Sleep,
    }
}

impl<B> http_body::Body for DeadlineBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if this.deadline.poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        this.inner.poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
