package weaviate

import (
	"context"
	"fmt"

	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
)

// Count returns how many objects a collection holds.
func (c *Cluster) Count(ctx context.Context, collection string) (int, error) {
	return read(ctx, c, func(ctx context.Context, wc *client.Client) (int, error) {
		res, err := wc.GraphQL().Aggregate().WithClassName(collection).
			WithFields(graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}).Do(ctx)
		if err != nil {
			return 0, err
		}
		if err := answerErrors(res, collection); err != nil {
			return 0, err
		}
		agg, _ := res.Data["Aggregate"].(map[string]any)
		list, _ := agg[collection].([]any)
		if len(list) != 1 {
			return 0, fmt.Errorf("aggregate of %s: %d groups, want 1", collection, len(list))
		}
		meta, _ := list[0].(map[string]any)["meta"].(map[string]any)
		f, _ := meta["count"].(float64)
		return int(f), nil
	})
}

// Unpublish deletes the alias and every collection published under it
// (<alias>_v1, <alias>_v2, …), and no other alias's (<alias>_vinyl_v1).
func (c *Cluster) Unpublish(ctx context.Context, alias string) error {
	if err := CheckAlias(alias); err != nil {
		return err
	}
	target, err := c.aliasTarget(ctx, alias)
	if err != nil {
		return err
	}
	return c.do(ctx, func(wc *client.Client) error {
		if target != "" {
			if err := wc.Alias().AliasDeleter().WithAliasName(alias).Do(ctx); err != nil {
				return err
			}
		}
		sch, err := wc.Schema().Getter().Do(ctx)
		if err != nil {
			return err
		}
		for _, cl := range sch.Classes {
			if isCollectionOf(alias, cl.Class) {
				if err := wc.Schema().ClassDeleter().WithClassName(cl.Class).Do(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
