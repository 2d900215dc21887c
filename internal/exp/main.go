// Command exp imports a file into a database the way `soundalike import`
// does, for the model's experiments until the import command lands.
// Temporary.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

func main() {
	db, file := os.Args[1], os.Args[2]
	eng, err := soundalike.Open(db, nil)
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	ctx := context.Background()
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		src, err := ingest.Open(file)
		if err != nil {
			return err
		}
		defer src.Close()
		sum, err := ingest.Run(ctx, src, tx, nil)
		fmt.Printf("%+v\n", sum)
		return err
	})
	if err != nil {
		panic(err)
	}
}
