//! Typed side outputs.

use std::any::Any;
use std::marker::PhantomData;

use hashbrown::HashMap;

/// Names a side output carrying values of type `T` (Flink's `OutputTag`).
#[derive(Debug)]
pub struct OutputTag<T> {
    name: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for OutputTag<T> {
    fn clone(&self) -> Self {
        Self { name: self.name.clone(), _type: PhantomData }
    }
}

impl<T: 'static> OutputTag<T> {
    /// A tag; tags with the same name and type are the same output.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), _type: PhantomData }
    }

    /// The tag's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Values sent to side outputs, collected per tag.
#[derive(Default)]
pub struct SideOutputs {
    outputs: HashMap<(String, std::any::TypeId), Box<dyn Any>>,
}

impl std::fmt::Debug for SideOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.outputs.keys().map(|(n, _)| n)).finish()
    }
}

impl SideOutputs {
    /// Appends a value to the tag's output.
    pub fn push<T: 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        let key = (tag.name.clone(), std::any::TypeId::of::<T>());
        let slot = self
            .outputs
            .entry(key)
            .or_insert_with(|| Box::new(Vec::<T>::new()));
        // OK because the key includes T's TypeId.
        slot.downcast_mut::<Vec<T>>().expect("side output type").push(value);
    }

    /// Takes everything sent to the tag so far.
    pub fn take<T: 'static>(&mut self, tag: &OutputTag<T>) -> Vec<T> {
        let key = (tag.name.clone(), std::any::TypeId::of::<T>());
        self.outputs
            .get_mut(&key)
            .and_then(|b| b.downcast_mut::<Vec<T>>())
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_typed_and_separate() {
        let mut s = SideOutputs::default();
        let a: OutputTag<u32> = OutputTag::new("a");
        let b: OutputTag<String> = OutputTag::new("a");
        s.push(&a, 1);
        s.push(&b, "x".to_owned());
        s.push(&a, 2);
        assert_eq!(s.take(&a), vec![1, 2]);
        assert_eq!(s.take(&b), vec!["x".to_owned()]);
        assert!(s.take(&a).is_empty());
    }
}
