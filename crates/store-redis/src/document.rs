//! The document: one hash holding `revision` and `document`, read whole and written by
//! compare-and-set on the revision.

use pinterest_oauth_core::{DocumentError, TokenDocument};
use pinterest_oauth_store::StoreError;
use zeroize::Zeroizing;

use crate::connection::Inner;

/// The largest document read: a token document is well under 4 KiB.
const MAX_DOCUMENT: u64 = 1024 * 1024;

/// The stored document's bytes, as stored (wiped on drop).
pub(crate) fn raw(inner: &Inner) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    let size: u64 = inner.run(|c| {
        redis::cmd("HSTRLEN")
            .arg(&inner.keys.document)
            .arg("document")
            .query(c)
    })?;
    if size > MAX_DOCUMENT {
        return Err(corrupt(inner, DocumentError::TooLarge));
    }
    let bytes: Option<Vec<u8>> = inner.run(|c| {
        redis::cmd("HGET")
            .arg(&inner.keys.document)
            .arg("document")
            .query(c)
    })?;
    Ok(bytes.map(Zeroizing::new))
}

/// Reads the stored document; the bytes are wiped once parsed.
pub(crate) fn load(inner: &Inner) -> Result<Option<TokenDocument>, StoreError> {
    let Some(bytes) = raw(inner)? else {
        return Ok(None);
    };
    pinterest_oauth_store::seal::read_document(&bytes, inner.sealing.as_ref())
        .map_err(|problem| StoreError::Sealed {
            location: inner.location.clone(),
            problem,
        })?
        .map(Some)
        .map_err(|problem| corrupt(inner, problem))
}

/// Stores `document` if its revision is newer than the stored one (or it is the stored
/// document again), in one script that also wakes the waiters.
pub(crate) fn save(inner: &Inner, document: &TokenDocument) -> Result<(), StoreError> {
    // Never write what could not be read back.
    document
        .check_storable()
        .map_err(|problem| corrupt(inner, problem))?;
    let bytes = pinterest_oauth_store::seal::write_document(document, inner.sealing.as_ref())
        .map_err(|problem| StoreError::Sealed {
            location: inner.location.clone(),
            problem,
        })?;
    let (stored, revision): (i64, u64) = inner.run(|c| {
        inner
            .scripts
            .save
            .key(&inner.keys.document)
            .arg(document.revision())
            .arg(bytes.as_slice())
            .arg(&inner.keys.events)
            .invoke(c)
    })?;
    if stored == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            location: inner.location.clone(),
            stored: revision,
            attempted: document.revision(),
        })
    }
}

/// Proves the server takes writes now: a short-lived probe key written and removed.
pub(crate) fn probe_write(inner: &Inner) -> Result<(), StoreError> {
    inner.run(|c| {
        redis::cmd("SET")
            .arg(&inner.keys.probe)
            .arg(1)
            .arg("PX")
            .arg(10_000)
            .query::<()>(c)?;
        redis::cmd("DEL").arg(&inner.keys.probe).query::<()>(c)
    })
}

/// Forgets the document, and wakes the waiters.
pub(crate) fn clear(inner: &Inner) -> Result<(), StoreError> {
    inner.run(|c| {
        inner
            .scripts
            .clear
            .key(&inner.keys.document)
            .arg(&inner.keys.events)
            .invoke::<i64>(c)
            .map(drop)
    })
}

fn corrupt(inner: &Inner, problem: DocumentError) -> StoreError {
    StoreError::Corrupt {
        location: inner.location.clone(),
        problem,
    }
}
