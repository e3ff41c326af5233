// Command etcd is the etcd server, built from its go.etcd.io module: a tiny main calling the
// server's own entry point (avoids the replace directives of etcd's root module).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
