package main

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEtcdConfig(t *testing.T) {
	c := defaultServeConfig()
	assert.False(t, c.Etcd.Enabled(), "without -etcd-endpoints the bbolt file")
	c.Etcd.Endpoints = " 127.0.0.1:2379, ,http://10.0.0.2:2379 "
	assert.Equal(t, []string{"127.0.0.1:2379", "http://10.0.0.2:2379"}, c.Etcd.EndpointList())
	require.NoError(t, c.Validate())
	opts, err := c.Etcd.Options(nil)
	require.NoError(t, err)
	assert.Nil(t, opts.TLS, "plain connections without TLS files or https endpoints")

	c.Etcd.Prefix, c.Etcd.Cert, c.Etcd.Username = "", "client.pem", "connector"
	err = c.Validate()
	assert.ErrorContains(t, err, "etcd-prefix")
	assert.ErrorContains(t, err, "etcd-cert and etcd-key")
	assert.ErrorContains(t, err, "etcd-username and etcd-password")

	c = defaultServeConfig()
	c.Etcd.Endpoints, c.Etcd.Username, c.Etcd.Password = "127.0.0.1:2379", "connector", "etcd-topsecret"
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "config", c)
	assert.NotContains(t, logged.String(), "etcd-topsecret")
	assert.Contains(t, logged.String(), `"prefix":"/hipchat-connector/"`)
}
