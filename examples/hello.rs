//! Writes "Hello world" to stdout through a ring and reads the completion.
use uring_os::ring::{CURRENT_POSITION, Cqe, Ring};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut ring = Ring::new(8)?;
    let msg = b"Hello world\n";
    let sqe = ring.get_sqe().expect("a new ring has room");
    sqe.prep_write(1, msg.as_ptr(), msg.len() as u32, CURRENT_POSITION)
        .user_data(42);
    // SAFETY: `msg` lives until the completion is copied below.
    unsafe { ring.submit()? };
    let mut cqes = [Cqe::default(); 1];
    ring.copy_cqes(&mut cqes, 1)?;
    println!(
        "user_data {} wrote {} bytes",
        cqes[0].user_data(),
        cqes[0].result()
    );
    Ok(())
}
