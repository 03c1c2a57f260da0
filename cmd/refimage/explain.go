package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/refimage/refimage/hook"
)

// getRow is explain's answer for one get step.
type getRow struct {
	Job      string `json:"job"`
	Get      string `json:"get"`
	Resource string `json:"resource"`
	Type     string `json:"type"`
	// Implicit marks the get Concourse runs after a put.
	Implicit bool     `json:"implicit,omitempty"`
	Decision string   `json:"decision"`
	Reason   string   `json:"reason"`
	ImageOf  []string `json:"image_of"`
	InputOf  []string `json:"input_of"`
	// Files are what the get writes when it skips its pod: in's files in
	// reference mode, with labels.json and metadata.json when
	// fetch_metadata is true (params, source, or the type's defaults);
	// none for a get that runs its pod.
	Files []string `json:"files,omitempty"`
}

// referenceFiles are the files reference mode writes for a get of r, with
// fetch_metadata resolved as in resolves it (params, then the source with
// the type's defaults merged in).
func referenceFiles(params map[string]any, r hook.Resource, types []hook.ResourceType) []string {
	files := []string{"repository", "tag", "digest"}
	values := []any{params[hook.ControlParamFetchMetadata], r.Source[hook.ControlParamFetchMetadata]}
	for _, t := range types {
		if t.Name == r.Type {
			values = append(values, t.Defaults[hook.ControlParamFetchMetadata])
		}
	}
	for _, v := range values {
		if on, ok := v.(bool); ok {
			if on {
				files = append(files, "labels.json", "metadata.json")
			}
			break
		}
	}
	return files
}

// filesNote is the table's last line when a get may skip its pod: which
// files it writes then, how to ask for the rest and what they cost.
const filesNote = "Without a pod a get writes repository, tag and digest; fetch_metadata: true (params, source or the type's defaults) adds labels.json and metadata.json, for a manifest GET (Docker Hub counts it as a pull; the HEAD that proves a digest does not) and a config GET."

// explain lists every get step of p, in file order. Custom types' image
// labels are looked up only when labels is true; ((vars)) are left alone.
func explain(ctx context.Context, p *pipeline, labels bool) []getRow {
	d := newDecider(p.ResourceTypes, labels)
	resources := map[string]hook.Resource{}
	for _, r := range p.Resources {
		resources[r.Name] = r
	}
	rows := []getRow{}
	for _, j := range p.Jobs {
		imageOf, inputOf := artifactUsers(j.steps())
		walk(j.steps(), func(s step) {
			var row getRow
			var params map[string]any
			switch {
			case s.Get != "":
				row = getRow{Get: s.Get, Resource: firstNonEmpty(s.Resource, s.Get)}
				params = s.Params
			case s.Put != "" && !s.NoGet:
				row = getRow{Get: s.Put, Resource: firstNonEmpty(s.Resource, s.Put), Implicit: true}
				params = s.GetParams
			default:
				return
			}
			r := resources[row.Resource]
			row.Job, row.Type = j.Name, r.Type
			row.ImageOf, row.InputOf = orEmpty(imageOf[row.Get]), orEmpty(inputOf[row.Get])
			row.Decision, row.Reason = d.decide(ctx, hook.GetStep{Resource: r, ResourceTypes: p.ResourceTypes, Params: params})
			if row.Decision != decisionPod && row.Decision != decisionError {
				row.Files = referenceFiles(params, r, p.ResourceTypes)
			}
			rows = append(rows, row)
		})
	}
	return rows
}

// artifactUsers maps each artifact name of a job's plan to the tasks that
// use it as image: and as an input (through input_mapping when set). Only
// tasks after the get (or put) in plan order count: an artifact does not
// exist before its step. A task whose config is in a file is listed as
// "name (inputs in file)" for every artifact before it, since its inputs
// cannot be known without the file.
func artifactUsers(plan []step) (imageOf, inputOf map[string][]string) {
	imageOf, inputOf = map[string][]string{}, map[string][]string{}
	var produced []string
	walk(plan, func(s step) {
		for _, name := range []string{s.Get, s.Put} {
			if name != "" && !slices.Contains(produced, name) {
				produced = append(produced, name)
			}
		}
		if s.Task == "" {
			return
		}
		if s.Image != "" && slices.Contains(produced, s.Image) {
			imageOf[s.Image] = appendOnce(imageOf[s.Image], s.Task)
		}
		if s.Config == nil {
			user := s.Task + " (inputs in " + firstNonEmpty(s.File, "a file") + ")"
			for _, name := range produced {
				inputOf[name] = appendOnce(inputOf[name], user)
			}
			return
		}
		for _, in := range s.Config.Inputs {
			artifact := firstNonEmpty(s.InputMapping[in.Name], in.Name)
			if slices.Contains(produced, artifact) {
				inputOf[artifact] = appendOnce(inputOf[artifact], s.Task)
			}
		}
	})
	return imageOf, inputOf
}

func writeTable(w io.Writer, rows []getRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tGET\tRESOURCE\tTYPE\tDECISION\tIMAGE OF\tINPUT OF\tWHY")
	for _, r := range rows {
		get := r.Get
		if r.Implicit {
			get += " (after put)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Job, get, r.Resource, r.Type, r.Decision,
			list(r.ImageOf), list(r.InputOf), r.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if slices.ContainsFunc(rows, func(r getRow) bool { return r.Decision != decisionPod && r.Decision != decisionError }) {
		_, err := fmt.Fprintln(w, filesNote)
		return err
	}
	return nil
}

func writeJSON(w io.Writer, rows []getRow) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
