package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/postgres"
)

// Import the app's database into a soundalike database in one transaction,
// as `soundalike import --postgres` does. (Not run: it needs a server.)
func ExampleOpen() {
	ctx := context.Background()
	eng, err := soundalike.Open("music.db", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	var sum ingest.Summary
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		src, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), &postgres.Options{
			// Actions left nil imports every action, skips too, which
			// recommendations take as negatives and leave out.
			URLFrom: "$DATABASE_URL", // named in an error about the URL
		})
		if err != nil {
			return err // one sentence, never the password
		}
		defer src.Close()
		sum, err = ingest.Run(ctx, src, tx, nil)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d tracks added, %d interactions added, %d rows rejected\n",
		sum.TracksAdded, sum.InteractionsAdded, sum.Rejected)
	for _, e := range sum.Errors {
		fmt.Println(e.Error()) // postgres:tracks: row <id>: reason
	}
}
