package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreFileSizes reads the database file's size and its free bytes (what `compact` gives back); the
// bbolt store's FileStats, adapted by cmd. Errors: the file cannot be read.
type StoreFileSizes func() (size, free int64, err error)

// storeFileCollector exposes hipchat_connector_store_file_bytes and
// hipchat_connector_store_free_bytes, read at each scrape.
type storeFileCollector struct {
	sizes    StoreFileSizes
	sizeDesc *prometheus.Desc
	freeDesc *prometheus.Desc
	log      *slog.Logger
}

// NewStoreFileCollector returns the collector of the bbolt file's size and free bytes, which reads
// sizes at each scrape and logs a failed read to log (the scrape then has neither).
func NewStoreFileCollector(sizes StoreFileSizes, log *slog.Logger) prometheus.Collector {
	return &storeFileCollector{sizes: sizes, log: log,
		sizeDesc: prometheus.NewDesc("hipchat_connector_store_file_bytes",
			"Size of the bbolt database file.", nil, nil),
		freeDesc: prometheus.NewDesc("hipchat_connector_store_free_bytes",
			"Bytes of free pages in the bbolt database file, left by deleted or rewritten data and reused by later writes: what `hipchat-connector compact` gives back.", nil, nil),
	}
}

// Describe sends the two descriptions.
func (c *storeFileCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sizeDesc
	ch <- c.freeDesc
}

// Collect reports the file's size and free bytes.
func (c *storeFileCollector) Collect(ch chan<- prometheus.Metric) {
	size, free, err := c.sizes()
	if err != nil {
		c.log.Warn("reading the database file's size for /metrics failed", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.sizeDesc, prometheus.GaugeValue, float64(size))
	ch <- prometheus.MustNewConstMetric(c.freeDesc, prometheus.GaugeValue, float64(free))
}
