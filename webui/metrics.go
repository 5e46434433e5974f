package webui

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"heshen/engine"
)

// metrics are the server's Prometheus series, in a registry of its own
// (no package globals).
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	stages        *prometheus.HistogramVec
	verifications *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heshen_api_requests_total", Help: "API calls by action and result or error code.",
		}, []string{"action", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "heshen_api_request_duration_seconds", Help: "API call latency by action.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"action"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "heshen_verify_stage_duration_seconds", Help: "Verification stage latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"stage"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heshen_verifications_total", Help: "Verification outcomes by action and Result.",
		}, []string{"action", "result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.stages, m.verifications,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

func (m *metrics) observeCall(action, code string, d time.Duration) {
	m.requests.WithLabelValues(action, code).Inc()
	m.latency.WithLabelValues(action).Observe(d.Seconds())
}

func (m *metrics) observeVerification(action, result string, stages []engine.Stage) {
	m.verifications.WithLabelValues(action, result).Inc()
	for _, s := range stages {
		m.stages.WithLabelValues(s.Name).Observe(s.Ms / 1000)
	}
}
