package store

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// ExportSubject gathers everything stored about the person with this ID
// number: the gallery entry with its photo and embedding, the records
// still naming them, their BizTokens and the metadata of their media.
// A person the store does not know gets an empty export, not an error.
func (db *DB) ExportSubject(ctx context.Context, idNumber string) (*engine.SubjectData, error) {
	if idNumber == "" {
		return nil, invalid("身份证号码不能为空", "ID number is empty")
	}
	out := &engine.SubjectData{IDNumber: idNumber, Records: []*engine.Record{}, BizTokens: []*engine.BizToken{}, Media: []*engine.Media{}}
	if id, err := db.FindIdentity(ctx, idNumber); err == nil {
		out.Photo, out.Embedding = id.Photo, id.Embedding
		id.Photo, id.Embedding = nil, nil
		out.Identity = id
	} else if engine.ErrorCode(err) != engine.CodeResourceNotFound {
		return nil, err
	}
	err := db.view(ctx, func(tx *bolt.Tx) error {
		recs, toks, media, err := subjectItems(tx, idNumber)
		if err != nil {
			return err
		}
		out.Records, out.BizTokens = append(out.Records, recs...), append(out.BizTokens, toks...)
		mb := tx.Bucket(bMedia)
		for _, id := range media {
			if v := mb.Get([]byte(id)); v != nil {
				var m engine.Media
				if err := decode(v, &m); err != nil {
					return err
				}
				out.Media = append(out.Media, &m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// subjectItems finds a person's records (by index), BizTokens (by scan:
// they live three days, so there are few) and the media both refer to.
func subjectItems(tx *bolt.Tx, idNumber string) ([]*engine.Record, []*engine.BizToken, []string, error) {
	var recs []*engine.Record
	var toks []*engine.BizToken
	var media []string
	prefix := join([]byte(idNumber), []byte{0})
	c := tx.Bucket(bRecSubject).Cursor()
	rb := tx.Bucket(bRecords)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		v := rb.Get(k[len(prefix):])
		if v == nil {
			continue
		}
		var r engine.Record
		if err := decode(v, &r); err != nil {
			return nil, nil, nil, err
		}
		recs = append(recs, &r)
		media = append(media, r.Media...)
	}
	err := tx.Bucket(bBizTokens).ForEach(func(_, v []byte) error {
		var t engine.BizToken
		if err := decode(v, &t); err != nil {
			return err
		}
		if t.IDNumber == idNumber {
			toks = append(toks, &t)
			if t.PhotoMedia != "" {
				media = append(media, t.PhotoMedia)
			}
		}
		return nil
	})
	return recs, toks, media, err
}

// EraseSubject deletes the person's gallery entry, BizTokens and media,
// and removes their name, ID number and media references from records
// (which keep their codes for statistics), all in one transaction.
func (db *DB) EraseSubject(ctx context.Context, idNumber string) (engine.SubjectErasure, error) {
	var e engine.SubjectErasure
	if idNumber == "" {
		return e, invalid("身份证号码不能为空", "ID number is empty")
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		e = engine.SubjectErasure{}
		if ok, err := deleteIdentity(tx, []byte(idNumber)); err == nil {
			e.Identity = ok
		} else if engine.ErrorCode(err) != engine.CodeResourceNotFound {
			return err
		}
		recs, toks, media, err := subjectItems(tx, idNumber)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := eraseRecordIdentity(tx, []byte(r.ID)); err != nil {
				return err
			}
		}
		e.Records = len(recs)
		for _, t := range toks {
			if err := deleteBizToken(tx, []byte(t.Token)); err != nil {
				return err
			}
		}
		e.BizTokens = len(toks)
		mb := tx.Bucket(bMedia)
		for _, id := range media {
			if mb.Get([]byte(id)) == nil {
				continue
			}
			if err := deleteMedia(tx, []byte(id)); err != nil {
				return err
			}
			e.Media++
		}
		return nil
	})
	return e, err
}
