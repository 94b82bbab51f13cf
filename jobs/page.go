package jobs

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PageQuery asks for one page of the jobs, newest first, as the console's
// jobs list shows them: the filters of Filter, a search, and where the
// page starts.
type PageQuery struct {
	Filter
	// Search keeps the jobs whose ID, input name, pipeline or record (its
	// errors, notes, outputs...) contain it, in any letter case.
	Search string
	// Pipelines, when not empty, keeps only these pipelines' jobs (a
	// client's scopes).
	Pipelines []string
	// After is the cursor of the previous page's last job ("" for the
	// first page): Page.Next.
	After string
	// Size is how many jobs a page holds (default 50, at most 500).
	Size int
}

// Page is one page of jobs, newest first.
type Page struct {
	Jobs []*Job
	// Next is the cursor of the next page, "" on the last one.
	Next string
	// Total is how many jobs match the filters and search.
	Total int
}

// MaxPage is the largest page Page returns.
const MaxPage = 500

// ErrBadCursor is returned for a cursor Page did not make.
var ErrBadCursor = errors.New("the cursor is not one this erpipe gave: start again from the first page")

// cursor is a job's place in the newest-first order: its created time and
// ID, which the journal's index jobs_created orders by.
func cursor(j *Job) string {
	return base64.RawURLEncoding.EncodeToString([]byte(dbTime(j.Created) + "|" + j.ID))
}

func parseCursor(c string) (created, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", ErrBadCursor
	}
	created, id, ok := strings.Cut(string(b), "|")
	if !ok || len(created) != len(dbLayout) || id == "" {
		return "", "", ErrBadCursor
	}
	return created, id, nil
}

// Page returns a page of the jobs that match q, newest first. The
// journal does the filtering, the search and the paging (keyset paging on
// created and ID), so a page costs about the same at job 100,000 as at
// job 1.
func (j *Journal) Page(ctx context.Context, q PageQuery) (*Page, error) {
	size := q.Size
	if size <= 0 {
		size = 50
	}
	size = min(size, MaxPage)
	var where []string
	var args []any
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(q.Status))
	}
	if q.Pipeline != "" {
		where = append(where, "pipeline = ?")
		args = append(args, q.Pipeline)
	}
	if len(q.Pipelines) > 0 {
		where = append(where, "pipeline IN (?"+strings.Repeat(", ?", len(q.Pipelines)-1)+")")
		for _, p := range q.Pipelines {
			args = append(args, p)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "created >= ?")
		args = append(args, dbTime(q.Since))
	}
	if s := strings.TrimSpace(q.Search); s != "" {
		// The record holds the errors, notes and output names; the
		// columns are there for a damaged record. LIKE's own characters
		// are escaped.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		pat := "%" + esc.Replace(s) + "%"
		// SQLite's LIKE ignores the case of ASCII letters; PostgreSQL's
		// ILIKE does so.
		like := "LIKE"
		if !j.sqlite() {
			like = "ILIKE"
		}
		// The record is JSON: a quote or backslash is escaped there.
		js, _ := json.Marshal(s)
		bodyPat := "%" + esc.Replace(string(js[1:len(js)-1])) + "%"
		where = append(where, fmt.Sprintf(`(id %[1]s ? ESCAPE '\' OR input %[1]s ? ESCAPE '\' OR body %[1]s ? ESCAPE '\')`, like))
		args = append(args, pat, pat, bodyPat)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var p *Page
	var err error
	if strings.TrimSpace(q.Search) != "" {
		p, err = j.searchPage(ctx, cond, args, q.After, size)
	} else {
		p, err = j.keysetPage(ctx, where, args, q.After, size)
	}
	if err != nil {
		return nil, err
	}
	if err := j.withEvents(ctx, p.Jobs); err != nil {
		return nil, err
	}
	return p, nil
}

// sqlite reports whether the journal's database is SQLite.
func (j *Journal) sqlite() bool {
	return strings.Contains(strings.ToLower(fmt.Sprintf("%T", j.db.Driver())), "sqlite")
}

// keysetPage counts the jobs that match (an index's count, the filters
// being on indexed columns) and reads the page after the cursor along the
// index on (created, id).
func (j *Journal) keysetPage(ctx context.Context, where []string, args []any, after string, size int) (*Page, error) {
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	p := &Page{}
	if err := j.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs"+cond, args...).Scan(&p.Total); err != nil {
		return nil, j.dbError(err)
	}
	if after != "" {
		created, id, err := parseCursor(after)
		if err != nil {
			return nil, err
		}
		where = append(where, "(created, id) < (?, ?)")
		args = append(args, created, id)
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	list, err := j.query(ctx, "SELECT "+jobColumns+" FROM jobs"+cond+fmt.Sprintf(" ORDER BY created DESC, id DESC LIMIT %d", size+1), args...)
	if err != nil {
		return nil, err
	}
	p.Jobs = list
	if len(list) > size {
		p.Jobs = list[:size]
		p.Next = cursor(p.Jobs[size-1])
	}
	return p, nil
}

// searchPage reads the keys of every job that matches in one pass over
// the records (a search cannot use an index), which gives the total and
// the page's place at once, then reads the page's jobs.
func (j *Journal) searchPage(ctx context.Context, cond string, args []any, after string, size int) (*Page, error) {
	// Sorted here, not by the database: a pass over the table beats one
	// along the index that fetches each row.
	rows, err := j.db.QueryContext(ctx, "SELECT created, id FROM jobs"+cond, args...)
	if err != nil {
		return nil, j.dbError(err)
	}
	type key struct{ created, id string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.created, &k.id); err != nil {
			rows.Close()
			return nil, j.dbError(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, j.dbError(err)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(b.created, a.created), strings.Compare(b.id, a.id)) })
	p := &Page{Total: len(keys)}
	if after != "" {
		created, id, err := parseCursor(after)
		if err != nil {
			return nil, err
		}
		i := 0
		for i < len(keys) && (keys[i].created > created || keys[i].created == created && keys[i].id >= id) {
			i++
		}
		keys = keys[i:]
	}
	if len(keys) > size {
		keys = keys[:size]
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(keys[size-1].created + "|" + keys[size-1].id))
	}
	if len(keys) == 0 {
		return p, nil
	}
	ids := make([]any, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	list, err := j.query(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id IN (?"+strings.Repeat(", ?", len(ids)-1)+") ORDER BY created DESC, id DESC", ids...)
	if err != nil {
		return nil, err
	}
	p.Jobs = list
	return p, nil
}
