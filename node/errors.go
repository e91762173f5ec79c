package node

import "errors"

// ErrNodeExists means the directory already holds a node; init changes
// nothing.
var ErrNodeExists = errors.New("directory already holds a carenode node")

// ErrNoNode means the directory holds no node; run `carenode init` first.
var ErrNoNode = errors.New("no carenode node in directory")

// ErrNotServing means no `carenode serve` is running for the directory.
var ErrNotServing = errors.New("node is not serving")
