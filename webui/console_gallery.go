package webui

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"heshen/engine"
)

// Gallery import limits: one upload is bounded by the server's body limit;
// inside it a zip may not hold more entries or expand further than this.
const (
	maxImportRows    = 20000
	maxZipEntries    = 20000
	maxZipExpansion  = 2 << 30
	maxCSVBytes      = 4 << 20
	importWriteBatch = 64
)

func (con *Console) listGallery(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	q := strings.TrimSpace(c.Query("q"))
	offset, limit := queryInt(c, "offset", 0, 0, 1<<30), queryInt(c, "limit", 50, 1, 500)
	var ids []*engine.Identity
	var total int
	var err error
	if a.scope == engine.ScopeAll {
		ids, total, err = con.cfg.Store.FindIdentities(ctx, q, offset, limit)
	} else {
		var all []*engine.Identity
		all, _, err = con.cfg.Store.FindIdentities(ctx, q, 0, 0)
		for _, id := range all {
			if id.CreatedBy == a.user.Name {
				total++
				if total > offset && len(ids) < limit {
					ids = append(ids, id)
				}
			}
		}
	}
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, id := range ids {
		out = append(out, fiber.Map{"id_number": engine.MaskIDNumber(id.IDNumber), "key": id.IDNumber, "name": engine.MaskName(id.Name),
			"created_at": id.CreatedAt, "created_by": id.CreatedBy})
	}
	return c.JSON(fiber.Map{"total": total, "identities": out})
}

func (con *Console) visibleIdentity(ctx context.Context, a *actor, idNumber string) (*engine.Identity, error) {
	id, err := con.cfg.Store.FindIdentity(ctx, idNumber)
	if err != nil {
		return nil, err
	}
	if !a.owns(id.CreatedBy) {
		return nil, notFoundErr("人像", engine.MaskIDNumber(idNumber))
	}
	return id, nil
}

func (con *Console) galleryPhoto(c *fiber.Ctx, a *actor) error {
	id, err := con.visibleIdentity(c.UserContext(), a, param(c, "id"))
	if err != nil {
		return err
	}
	con.log(&engine.OpEntry{Actor: a.user.Name, Action: "DescribeGalleryPhoto", SourceIP: c.IP(), Code: engine.ResultSuccess,
		Request: mustJSON(map[string]string{"id_number": id.IDNumber})})
	ct := http.DetectContentType(id.Photo)
	if ct != "image/jpeg" && ct != "image/png" && ct != "image/webp" {
		return notFoundErr("照片", engine.MaskIDNumber(id.IDNumber))
	}
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(id.Photo)
}

// enrol checks an identity and embeds its photo: exactly one face that
// passes the quality gates.
func (con *Console) enrol(ctx context.Context, idNumber, name string, photo []byte, by string) (*engine.Identity, error) {
	if err := engine.ValidateIDNumber(idNumber); err != nil {
		return nil, err
	}
	if !engine.ValidName(name) {
		return nil, engine.NameError()
	}
	if len(photo) == 0 {
		return nil, engine.Errorf(engine.CodeMissingParameter, "缺少照片", "a photo is required")
	}
	if len(photo) > engine.DefaultImageLimits.MaxBytes {
		return nil, engine.Errorf(engine.CodeImageSizeTooLarge, "照片过大", "photo is %d bytes, at most %d", len(photo), engine.DefaultImageLimits.MaxBytes)
	}
	if con.cfg.Faces == nil {
		return nil, engine.Errorf(engine.CodeDetectEngine, "人脸引擎不可用", "the face engine is not configured")
	}
	an, err := con.cfg.Faces.Analyze(ctx, photo, engine.AnalyzeOptions{Policy: engine.PickOnly, Gates: true})
	if err != nil {
		return nil, err
	}
	f := an.Face()
	if f == nil || len(f.Embedding) == 0 {
		return nil, &engine.Error{Code: engine.CodeNoFaces, Reason: engine.ReasonNoFace, Message: "照片中未检测到人脸", EN: "no face found in the photo"}
	}
	return &engine.Identity{IDNumber: idNumber, Name: name, Photo: photo, Embedding: append([]float32(nil), f.Embedding...),
		CreatedBy: by, CreatedAt: con.cfg.Now().UTC()}, nil
}

func readPart(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	if fh.Size > limit {
		return nil, engine.Errorf(engine.CodeImageSizeTooLarge, "文件过大", "%s is %d bytes, at most %d", fh.Filename, fh.Size, limit)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// replaceCheck refuses to overwrite an identity without replace, or one the
// actor may not touch.
func (con *Console) replaceCheck(ctx context.Context, a *actor, idNumber string, replace bool) (bool, error) {
	exists, err := con.cfg.Store.HasIdentity(ctx, idNumber)
	if err != nil || !exists {
		return false, err
	}
	if !replace {
		return true, engine.Errorf("ResourceInUse", "该身份已在人像库中", "already in the gallery (tick replace)")
	}
	if _, err := con.visibleIdentity(ctx, a, idNumber); err != nil {
		return true, engine.Errorf(codeUnauthorized, "只能替换自己添加的人像", "you may replace only identities you added")
	}
	return true, nil
}

func (con *Console) addIdentity(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	idNumber, name := strings.TrimSpace(c.FormValue("id_number")), strings.TrimSpace(c.FormValue("name"))
	replace := c.FormValue("replace") == "true" || c.FormValue("replace") == "on"
	fh, err := c.FormFile("photo")
	if err != nil {
		return engine.Errorf(engine.CodeMissingParameter, "缺少照片", "a photo file is required")
	}
	photo, err := readPart(fh, int64(engine.DefaultImageLimits.MaxBytes))
	if err != nil {
		return err
	}
	replaced, err := con.replaceCheck(ctx, a, idNumber, replace)
	if err != nil {
		return err
	}
	id, err := con.enrol(ctx, idNumber, name, photo, a.user.Name)
	if err != nil {
		return err
	}
	if err := con.cfg.Store.PutIdentity(ctx, id); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id_number": engine.MaskIDNumber(idNumber), "name": engine.MaskName(name), "replaced": replaced})
}

func (con *Console) removeIdentity(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	id, err := con.visibleIdentity(ctx, a, param(c, "id"))
	if err != nil {
		return err
	}
	if err := con.cfg.Store.DeleteIdentity(ctx, id.IDNumber); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": engine.MaskIDNumber(id.IDNumber)})
}

// ImportRow is one CSV row's outcome in a gallery import.
type ImportRow struct {
	Row      int    `json:"row"` // line in the CSV; the header is line 1
	IDNumber string `json:"id_number,omitempty"`
	Status   string `json:"status"` // added, replaced, failed
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
	EN       string `json:"message_en,omitempty"`
}

// ImportReport is a gallery import's per-row report.
type ImportReport struct {
	Total    int         `json:"total"`
	Added    int         `json:"added"`
	Replaced int         `json:"replaced"`
	Failed   int         `json:"failed"`
	Ms       float64     `json:"ms"`
	Rows     []ImportRow `json:"rows"`
}

// photoSource finds a CSV row's photo in the uploaded zip.
type photoSource struct {
	files map[string]*zip.File // full path and base name
}

func openZip(data []byte) (*photoSource, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片包不是有效的zip文件", "photos is not a valid zip: %v", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片包文件过多", "the zip holds %d entries, at most %d", len(zr.File), maxZipEntries)
	}
	var total uint64
	ps := &photoSource{files: map[string]*zip.File{}}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		total += f.UncompressedSize64
		if total > maxZipExpansion {
			return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片包解压后过大", "the zip expands beyond %d bytes", maxZipExpansion)
		}
		name := strings.TrimPrefix(path.Clean("/"+f.Name), "/")
		ps.files[name] = f
		if _, dup := ps.files[path.Base(name)]; !dup {
			ps.files[path.Base(name)] = f
		}
	}
	return ps, nil
}

func (ps *photoSource) read(name string) ([]byte, error) {
	if ps == nil {
		return nil, engine.Errorf(engine.CodeMissingParameter, "未上传照片包", "no photos zip was uploaded")
	}
	f := ps.files[strings.TrimPrefix(path.Clean("/"+name), "/")]
	if f == nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片包中没有该文件", "%q is not in the zip", name)
	}
	max := engine.DefaultImageLimits.MaxBytes
	if f.UncompressedSize64 > uint64(max) {
		return nil, engine.Errorf(engine.CodeImageSizeTooLarge, "照片过大", "%s is larger than %d bytes", name, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片无法解压", "%s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(max)+1))
	if err != nil || len(b) > max {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片无法解压", "%s could not be read within %d bytes", name, max)
	}
	return b, nil
}

// importGallery enrols every row of an uploaded CSV (id_number,name,photo)
// with photos from an uploaded zip; each row is written whole or not at all
// and gets its own line in the report.
func (con *Console) importGallery(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	t0 := time.Now()
	fh, err := c.FormFile("csv")
	if err != nil {
		return engine.Errorf(engine.CodeMissingParameter, "缺少CSV文件", "a csv file is required")
	}
	csvData, err := readPart(fh, maxCSVBytes)
	if err != nil {
		return err
	}
	replace := c.FormValue("replace") == "true" || c.FormValue("replace") == "on"
	var photos *photoSource
	if zh, err := c.FormFile("photos"); err == nil {
		data, err := readPart(zh, int64(c.App().Config().BodyLimit))
		if err != nil {
			return err
		}
		if photos, err = openZip(data); err != nil {
			return err
		}
	}
	r := csv.NewReader(bytes.NewReader(csvData))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return engine.Errorf(engine.CodeInvalidParameterValue, "CSV表头无法读取", "csv header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, name := range []string{"id_number", "name", "photo"} {
		if _, ok := col[name]; !ok {
			return engine.Errorf(engine.CodeInvalidParameterValue, "CSV缺少列", "csv has no %q column (need id_number,name,photo)", name)
		}
	}
	rep := &ImportReport{Rows: []ImportRow{}}
	fail := func(row int, id string, err error) {
		e := engine.AsError(err)
		rep.Rows = append(rep.Rows, ImportRow{Row: row, IDNumber: engine.MaskIDNumber(id), Status: "failed", Code: e.Code, Message: e.Message, EN: e.EN})
	}
	var batch []*engine.Identity
	var batchRows []ImportRow
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := con.cfg.Store.PutIdentities(ctx, batch); err != nil {
			e := engine.AsError(err)
			for _, row := range batchRows {
				row.Status, row.Code, row.Message, row.EN = "failed", e.Code, e.Message, e.EN
				rep.Rows = append(rep.Rows, row)
			}
		} else {
			rep.Rows = append(rep.Rows, batchRows...)
		}
		batch, batchRows = nil, nil
	}
	seen := map[string]int{}
	rows := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			fail(pe.StartLine, "", engine.Errorf(engine.CodeInvalidParameterValue, "CSV行格式错误", "%v", pe.Err))
			continue
		} else if err != nil {
			return err
		}
		if rows++; rows > maxImportRows {
			fail(line, "", engine.Errorf(engine.CodeInvalidParameterValue, "CSV行数过多", "at most %d rows per import", maxImportRows))
			break
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		idNumber, name, photoName := get("id_number"), get("name"), get("photo")
		if first, dup := seen[idNumber]; dup && idNumber != "" {
			fail(line, idNumber, engine.Errorf("ResourceInUse", "CSV中身份证号码重复", "ID number repeats row %d", first))
			continue
		}
		seen[idNumber] = line
		replaced, err := con.replaceCheck(ctx, a, idNumber, replace)
		if err != nil {
			fail(line, idNumber, err)
			continue
		}
		if photoName == "" {
			fail(line, idNumber, engine.Errorf(engine.CodeMissingParameter, "缺少照片", "row has no photo"))
			continue
		}
		photo, err := photos.read(photoName)
		if err != nil {
			fail(line, idNumber, err)
			continue
		}
		id, err := con.enrol(ctx, idNumber, name, photo, a.user.Name)
		if err != nil {
			fail(line, idNumber, err)
			continue
		}
		status := "added"
		if replaced {
			status = "replaced"
		}
		batch = append(batch, id)
		batchRows = append(batchRows, ImportRow{Row: line, IDNumber: engine.MaskIDNumber(idNumber), Status: status})
		if len(batch) >= importWriteBatch {
			flush()
		}
	}
	flush()
	for i := 1; i < len(rep.Rows); i++ {
		for j := i; j > 0 && rep.Rows[j].Row < rep.Rows[j-1].Row; j-- {
			rep.Rows[j], rep.Rows[j-1] = rep.Rows[j-1], rep.Rows[j]
		}
	}
	for _, row := range rep.Rows {
		switch row.Status {
		case "added":
			rep.Added++
		case "replaced":
			rep.Replaced++
		default:
			rep.Failed++
		}
	}
	rep.Total = len(rep.Rows)
	rep.Ms = float64(time.Since(t0).Microseconds()) / 1000
	a.entry.Response = mustJSON(fiber.Map{"total": rep.Total, "added": rep.Added, "replaced": rep.Replaced, "failed": rep.Failed})
	return c.JSON(rep)
}
