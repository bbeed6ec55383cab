//! Prometheus metrics: requests by route and status, request latency, events appended.

use std::future::{ready, Ready};
use std::rc::Rc;
use std::time::Instant;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use futures::future::LocalBoxFuture;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    events_appended: IntCounter,
    projection_stopped: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "unntak_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "unntak_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let events_appended = IntCounter::new(
            "unntak_events_appended_total",
            "Events appended to the store through the API",
        )
        .expect("valid metric");
        let projection_stopped = IntGaugeVec::new(
            Opts::new(
                "unntak_projection_stopped",
                "1 while a projection has stopped at an event it cannot apply",
            ),
            &["projection"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(projection_stopped.clone()))
            .expect("register");
        registry
            .register(Box::new(requests.clone()))
            .expect("register");
        registry
            .register(Box::new(latency.clone()))
            .expect("register");
        registry
            .register(Box::new(events_appended.clone()))
            .expect("register");
        Self {
            registry,
            requests,
            latency,
            events_appended,
            projection_stopped,
        }
    }

    /// The Prometheus text exposition of every metric, with `events_appended`, the
    /// registry's count of events it appended for callers, and whether each projection
    /// has stopped.
    pub fn render(&self, events_appended: u64, stopped_projections: &[(String, bool)]) -> String {
        let counted = self.events_appended.get();
        self.events_appended
            .inc_by(events_appended.saturating_sub(counted));
        for (projection, stopped) in stopped_projections {
            self.projection_stopped
                .with_label_values(&[projection.as_str()])
                .set(i64::from(*stopped));
        }
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("metrics encode");
        String::from_utf8(buffer).expect("metrics are UTF-8")
    }

    fn observe(&self, method: &str, route: &str, status: u16, started: Instant) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The request method as a label: the methods the API answers, and `other` for any
/// other, so invented methods cannot grow the metrics without bound.
pub(crate) fn method_label(method: &actix_web::http::Method) -> String {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let name = method.as_str();
    match KNOWN.contains(&name) {
        true => name.to_string(),
        false => "other".to_string(),
    }
}

/// Middleware that records every request under its route pattern (never the raw path,
/// which holds ids).
pub struct RecordMetrics(pub Metrics);

impl<S, B> Transform<S, ServiceRequest> for RecordMetrics
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RecordMetricsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordMetricsService {
            service: Rc::new(service),
            metrics: self.0.clone(),
        }))
    }
}

pub struct RecordMetricsService<S> {
    service: Rc<S>,
    metrics: Metrics,
}

impl<S, B> Service<ServiceRequest> for RecordMetricsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let method = method_label(request.method());
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let metrics = self.metrics.clone();
        let service = self.service.clone();
        Box::pin(async move {
            let response = service.call(request).await?;
            metrics.observe(&method, &route, response.status().as_u16(), started);
            Ok(response)
        })
    }
}
