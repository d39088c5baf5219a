//! `Send` and `Sync` exactly where the C headers promise thread safety,
//! checked at compile time (positive) and by probes (negative: inherent
//! methods win over trait methods only when their bounds hold).
use prodready::*;
use std::marker::PhantomData;

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

struct Probe<T>(PhantomData<T>);
trait Fallback {
    fn is_send(&self) -> bool {
        false
    }
    fn is_sync(&self) -> bool {
        false
    }
}
impl<T> Fallback for Probe<T> {}
struct SendProbe<T>(PhantomData<T>);
impl<T> Fallback for SendProbe<T> {}
impl<T: Send> SendProbe<T> {
    fn is_send(&self) -> bool {
        true
    }
}
impl<T: Sync> Probe<T> {
    fn is_sync(&self) -> bool {
        true
    }
}

#[test]
fn shareable_handles_are_send_and_sync() {
    send_sync::<PasswordPolicy>();
    send_sync::<Secret>();
    send_sync::<Clock>();
    send_sync::<Key>();
    send_sync::<Keyring>();
    send_sync::<Verifier>();
    send_sync::<Verified>();
    send_sync::<Revocations>();
    send_sync::<TokenStore>();
    send_sync::<Sessions>();
    send_sync::<Limiter>();
    send_sync::<SharedLimiter>();
    send_sync::<LoginGuard>();
    send_sync::<Logger>();
    send_sync::<Pool>();
    send_sync::<TxOptions>();
    send_sync::<Listener>();
    send_sync::<Error>();
    send::<Claims>();
    send::<Rows>();
    send::<LimiterConfig>();
    send::<PoolConfig>();
}

#[test]
fn single_thread_handles_are_not_shared() {
    // A prd_token_claims and a result belong to one thread at a time.
    assert!(!Probe::<Claims>(PhantomData).is_sync());
    assert!(!Probe::<Rows>(PhantomData).is_sync());
    // A connection belongs to the thread that acquired it.
    assert!(!SendProbe::<Conn>(PhantomData).is_send());
    assert!(!Probe::<Conn>(PhantomData).is_sync());
    assert!(!SendProbe::<PooledConn<'static>>(PhantomData).is_send());
    // The probes see the bounds where they hold.
    assert!(SendProbe::<Pool>(PhantomData).is_send());
    assert!(Probe::<Pool>(PhantomData).is_sync());
}
