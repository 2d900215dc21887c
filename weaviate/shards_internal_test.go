package weaviate

import (
	"strings"
	"testing"

	"github.com/weaviate/weaviate/entities/models"
)

// nodesStatus is a GET /v1/nodes answer: each node's name, status and the
// shards of collection C it lists.
func nodesStatus(nodes ...[]string) *models.NodesStatusResponse {
	st := &models.NodesStatusResponse{}
	for _, n := range nodes {
		status := n[1]
		ns := &models.NodeStatus{Name: n[0], Status: &status}
		for _, sh := range n[2:] {
			ns.Shards = append(ns.Shards, &models.NodeShardStatus{Name: sh, Class: "C"})
		}
		st.Nodes = append(st.Nodes, ns)
	}
	return st
}

// Given the shard checks of a collection of 3 shards, expect a shard
// whose every node is gone from the list, or listed as unavailable, to be
// named with the nodes that held it; and a shard of a collection since
// published again (new shard names) to be forgotten once every shard of
// the new one is live.
func TestShardVerdict(t *testing.T) {
	cv := &coverage{holders: make(map[string][]string)}
	all := nodesStatus([]string{"n1", "HEALTHY", "a", "b"}, []string{"n2", "HEALTHY", "b", "c"}, []string{"n3", "HEALTHY", "c", "a"})
	if err := cv.verdict("C", all, 3); err != nil {
		t.Fatalf("every node up: %v", err)
	}
	oneLeft := nodesStatus([]string{"n1", "HEALTHY", "a", "b"}, []string{"n3", "UNAVAILABLE"})
	err := cv.verdict("C", oneLeft, 3)
	if err == nil || !strings.Contains(err.Error(), "shard c (replicas on n2, n3)") || strings.Contains(err.Error(), "shard a") {
		t.Fatalf("n2, n3 down: %v; want shard c named with n2, n3, and no other", err)
	}
	fresh := nodesStatus([]string{"n1", "HEALTHY", "x"}, []string{"n2", "HEALTHY", "y"}, []string{"n3", "HEALTHY", "z"})
	if err := cv.verdict("C", fresh, 3); err != nil {
		t.Fatalf("the collection published again, every node up: %v", err)
	}
	if err := cv.verdict("C", nodesStatus([]string{"n1", "HEALTHY", "x"}, []string{"n2", "HEALTHY", "y"}), 3); err == nil ||
		!strings.Contains(err.Error(), "shard z (replicas on n3)") || strings.Contains(err.Error(), "shard c") {
		t.Fatalf("the collection published again, n3 down: %v; want shard z named and the old shards forgotten", err)
	}
	cold := &coverage{holders: make(map[string][]string)}
	if err := cold.verdict("C", nodesStatus([]string{"n1", "HEALTHY", "a"}), 3); err == nil || !strings.Contains(err.Error(), "2 of its 3 shards") {
		t.Fatalf("a first check that sees 1 of 3 shards: %v; want 2 of its 3 shards named as missing", err)
	}
}
